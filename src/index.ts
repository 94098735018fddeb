// StreamHouse as a library: start a broker in-process (port 0 → a free port; memory:// stores allowed).
export { startBroker, type RunningBroker, type StartBrokerOptions } from './broker/broker.js';
export { type BrokerConfig, DEFAULT_CONFIG } from './config/broker-config.js';
export { StreamhouseError, BROKER_ERROR_CODES } from './errors.js';
