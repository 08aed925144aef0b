/**
 * A request body of `total` spaces, served in `chunk`-byte pieces as it is pulled, counting what was
 * pulled: a limit that refuses an oversized upload early has pulled little of it.
 */
export function countingBody(total: number, chunk: number): { body: ReadableStream<Uint8Array>; pulled: () => number; CHUNK: number } {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (pulled >= total) return ctl.close();
      pulled += chunk;
      ctl.enqueue(new Uint8Array(chunk).fill(0x20));
    },
  });
  return { body, pulled: () => pulled, CHUNK: chunk };
}
