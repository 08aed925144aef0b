import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How long, and how much, the rest of a refused body is read before the connection is closed. */
export const LINGER = { ms: 2000, bytes: 16 * 1024 * 1024 };

const lingering = new WeakSet<Socket>();

/**
 * nginx's lingering close, for an answer sent before the request body was read whole (413): call it
 * before the answer is sent. Closing a socket with unread bytes in it makes the kernel reset the
 * connection, and a client still writing its body (most clients write it whole before they read)
 * then gets EPIPE or ECONNRESET instead of the answer, which the reset may even discard unread.
 *
 * So when Node's server closes the connection after the answer (`connection: close`, through
 * `socket.destroySoon`), the socket is only half-closed: the answer and a FIN go out, and the rest
 * of the body is read and discarded until the client has sent it all, closes, or the bound is
 * reached (LINGER: whichever of the time or the bytes comes first); then the socket is destroyed. A
 * slow or stalled client never holds it longer than that.
 */
export function lingerOnClose(req: IncomingMessage, bound: { ms: number; bytes: number } = LINGER): void {
  const socket = req.socket;
  if (socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  let timer: NodeJS.Timeout | undefined;
  let read = 0;
  const close = (): void => {
    clearTimeout(timer);
    req.off('data', discard);
    socket.destroy();
  };
  const discard = (chunk: Buffer): void => {
    read += chunk.length;
    if (read > bound.bytes) close();
  };
  // From now on the body is read and dropped: whatever was reading it (a web stream over it, as
  // @hono/node-server makes, possibly only once the answer is sent) stops getting it and cannot
  // pause it, so nothing is queued while the connection lingers.
  const drain = (): void => {
    for (const l of req.listeners('data')) if (l !== discard) req.off('data', l as (chunk: Buffer) => void);
    if (req.listenerCount('data') === 0) req.on('data', discard);
    req.resume();
  };
  drain();
  socket.once('close', () => clearTimeout(timer));
  // An own property over net.Socket's: Node's HTTP server calls it once the answer is written.
  socket.destroySoon = function lingeringClose(this: Socket) {
    if (timer !== undefined || socket.destroyed) return; // already lingering: the bound decides
    // Nothing left to read: close as Node would (FIN once the answer is flushed, then destroy).
    if (req.complete) return Object.getPrototypeOf(socket).destroySoon.call(socket);
    socket.end();
    drain();
    timer = setTimeout(close, bound.ms);
    timer.unref();
    // Once the body has all come, nothing more is expected: close when the answer is flushed.
    req.once('end', () => {
      clearTimeout(timer);
      if (socket.writableFinished) socket.destroy();
      else socket.once('finish', () => socket.destroy());
    });
  };
}
