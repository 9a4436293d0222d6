export {
  type StatusHandlerOptions,
  type StatusRequestHandler,
  statusHandler,
} from './handler.js';
export {
  newStatusMonitor,
  type StatusCursorsSource,
  type StatusGrpcCall,
  type StatusGrpcSource,
  type StatusMonitor,
  type StatusMonitorOptions,
  type StatusStreamOptions,
} from './monitor.js';
export type {
  ConsumerError,
  ConsumerState,
  ConsumerStatus,
  GrpcClientStatus,
  GrpcStatus,
  StatusSnapshot,
  StreamStatus,
} from './snapshot.js';
