export { createGateway, type Gateway, type GatewayOptions } from './server.ts';
export { loadConfig, parseConfig, ConfigError } from './config/load.ts';
export { configSchema, type Config } from './config/schema.ts';
export { createExchange, durations, nullSink, type Exchange, type EventSink, type Outcome } from './exchange.ts';
export { GatewayError } from './errors.ts';
export type { RequestRow } from './events/index.ts';
