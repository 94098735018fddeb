// The registry of message definitions: one file per API, named NN-<api>.ts after its key.
// Adding an API = adding its definition file and one line here (and a handler in src/handlers/).
import type { ApiDefinition } from '../schema/schema.js';
import { Produce } from './00-produce.js';
import { ApiVersions } from './18-api-versions.js';

export { ApiVersions, Produce };

export const API_DEFINITIONS: readonly ApiDefinition[] = [Produce, ApiVersions];
