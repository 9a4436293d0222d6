export { type Authenticator, bearerTokenAuth, type CallInfo } from './auth.js';
export {
  type ClientTlsOptions,
  newReflexClient,
  type ReflexClient,
  type ReflexClientOptions,
} from './client.js';
export {
  type ReflexServer,
  reflexStreamMethod,
  type ServedCall,
  type ServeOptions,
  type ServerTlsOptions,
  serveStream,
  serveStreams,
} from './server.js';
export { errorCodeKey, GrpcErrorCode } from './status.js';
