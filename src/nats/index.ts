// reflex-events/nats: a bridge to NATS JetStream. The `nats` package (v2) is an optional peer,
// loaded at the first connection; these types compile without it.
export {
  type JetStreamClient,
  type JetStreamClientOptions,
  type NatsConnectionLike,
  newJetStreamClient,
} from './client.js';
export { NatsErrorCode } from './errors.js';
export { relayHeaders } from './headers.js';
export type { JetStreamLeasesOptions, JetStreamShardLeases } from './leases-options.js';
export type { JetStreamRelay, JetStreamRelayOptions } from './relay-options.js';
export { newJetStreamRelaySpec } from './relay-spec.js';
export type { JetStreamSourceOptions } from './source-options.js';
