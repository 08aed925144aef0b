import { createServer } from 'node:net';

/**
 * A loopback port nothing listens on right now: bind port 0, read it, release it. A child started
 * right after can bind it; a client connecting to it meanwhile gets ECONNREFUSED.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}
