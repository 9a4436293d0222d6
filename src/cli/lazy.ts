import { runtimeError } from './errors.js';

/**
 * Loads `reflex-events/grpc` when a command needs it: @grpc/grpc-js is only needed for gRPC
 * sources, `serve` and the demo, so `reflex cursors …` works without it.
 */
export async function loadGrpc(): Promise<typeof import('../grpc/index.js')> {
  try {
    return await import('../grpc/index.js');
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ERR_MODULE_NOT_FOUND') {
      throw runtimeError('gRPC needs the @grpc/grpc-js package: npm install @grpc/grpc-js', err);
    }
    throw err;
  }
}
