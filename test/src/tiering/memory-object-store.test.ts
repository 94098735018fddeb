import t from 'tap';
import { MemoryObjectStore } from '../../../src/tiering/memory-object-store.js';
import { runObjectStoreContract } from './object-store-contract.js';

runObjectStoreContract(t, 'memory', async () => ({ store: new MemoryObjectStore() }));
