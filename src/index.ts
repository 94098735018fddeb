// StreamHouse as a library: start a broker in-process (port 0 → a free port; memory:// stores allowed).
export { type RunningBroker, type StartBrokerOptions, startBroker } from './broker/broker.js';
export { type BrokerConfig, DEFAULT_CONFIG } from './config/broker-config.js';
export { BROKER_ERROR_CODES, StreamhouseError } from './errors.js';
