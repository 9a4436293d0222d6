/**
 * Loads `reflex-events/grpc` when a command needs it (gRPC sources, `serve`, the demo), so the
 * other commands start without loading the HTTP/2 server and client. It needs no package beyond
 * Node's own `node:http2`.
 */
export async function loadGrpc(): Promise<typeof import('../grpc/index.js')> {
  return await import('../grpc/index.js');
}
