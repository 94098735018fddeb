import t from 'tap';
import { MemoryMetadataStore } from '../../../src/metadata/memory-metadata-store.js';
import { runMetadataStoreContract } from './metadata-store-contract.js';

runMetadataStoreContract(t, 'memory', async ({ clock }) => ({ store: new MemoryMetadataStore({ clock }) }));
