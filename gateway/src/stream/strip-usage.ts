/**
 * The usage the gateway asked an OpenAI-format stream for (`stream_options.include_usage`) on
 * behalf of a client that did not: cut out of the provider's bytes as they pass, so the client gets
 * the chunks it would have got without the gateway. Works on compact JSON (OpenAI's, and most
 * hosts'), where `"choices":[]` and `"usage":{` mark the usage-only chunk and `,"usage":null` only
 * ends a chunk: inside a JSON string those quotes would be escaped. (A chunk with no choices and no
 * usage is not the gateway's: Azure opens its streams with one that carries prompt_filter_results.)
 * The bytes are never decoded and encoded again. Pure.
 */

const USAGE_ONLY = Buffer.from('"choices":[]');
const USAGE_OBJECT = Buffer.from('"usage":{');
const USAGE_NULL = Buffer.from(',"usage":null');
/**
 * The blank lines that end an SSE event, with their lengths: a line ends with CRLF, LF or CR
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream), so two
 * in a row are LF LF, CRLF CRLF, LF CRLF or CR CR (CRLF LF contains LF LF). A CR CR followed by LF
 * is taken to end after the second CR: the LF then starts the next part as an empty line, which a
 * parser skips.
 */
const BLANK_LINES: ReadonlyArray<readonly [Buffer, number]> = [
  [Buffer.from('\n\n'), 2],
  [Buffer.from('\r\n\r\n'), 4],
  [Buffer.from('\n\r\n'), 3],
  [Buffer.from('\r\r'), 2],
];

/** Whether `events` (complete SSE events) hold anything stripUsage removes. */
export function carriesUsage(events: Buffer): boolean {
  return events.includes(USAGE_NULL) || events.includes(USAGE_ONLY);
}

/**
 * `events` (complete SSE events, compact JSON) without the usage-only event and without the
 * `,"usage":null` member of the others. Returns `events` itself when there is nothing to cut.
 */
export function stripUsage(events: Buffer): Buffer {
  const cuts: Array<[number, number]> = [];
  for (let at = events.indexOf(USAGE_ONLY); at !== -1; ) {
    const start = eventStart(events, at);
    const end = eventEnd(events, at);
    const usage = events.indexOf(USAGE_OBJECT, start);
    if (usage !== -1 && usage < end) cuts.push([start, end]);
    at = events.indexOf(USAGE_ONLY, end);
  }
  for (let at = events.indexOf(USAGE_NULL); at !== -1; at = events.indexOf(USAGE_NULL, at + USAGE_NULL.length)) {
    if (!cuts.some(([s, e]) => at >= s && at < e)) cuts.push([at, at + USAGE_NULL.length]);
  }
  if (cuts.length === 0) return events;
  cuts.sort((a, b) => a[0] - b[0]);
  const parts: Buffer[] = [];
  let from = 0;
  for (const [s, e] of cuts) {
    if (s > from) parts.push(events.subarray(from, s));
    from = Math.max(from, e);
  }
  if (from < events.length) parts.push(events.subarray(from));
  return Buffer.concat(parts);
}

/**
 * Where the event holding `at` starts: after the last blank line at or before it, or at 0. At the
 * end of the bytes, where the complete events end.
 */
export function eventStart(b: Buffer, at: number): number {
  // Most reads end with a whole event: no search back through them.
  if (at === b.length && at >= 2 && b[at - 1] === 10 && (b[at - 2] === 10 || (at >= 4 && b[at - 2] === 13 && b[at - 3] === 10 && b[at - 4] === 13))) return at;
  let start = 0;
  for (const [blank, length] of BLANK_LINES) {
    const i = b.lastIndexOf(blank, at);
    if (i !== -1 && i + length <= at) start = Math.max(start, i + length);
  }
  return start;
}

/**
 * The bytes of an SSE stream as they arrive, handed back up to the end of their last complete event;
 * the start of an event still to end is held. Held bytes are kept as they came and joined once their
 * event ends: an event of megabytes (an image's base64) arriving in 16 KB reads costs one copy, not
 * one per read. Only the held bytes' last three are looked at again, for a blank line that starts in
 * them and ends in the new read.
 */
export class CompleteEvents {
  private parts: Buffer[] = [];
  private held = 0;

  /** The complete events `chunk` ends (after what was held before it), or null when it ends none. */
  push(chunk: Buffer): Buffer | null {
    if (this.held === 0) {
      const end = eventStart(chunk, chunk.length);
      if (end < chunk.length) this.hold(chunk.subarray(end));
      return end === 0 ? null : end === chunk.length ? chunk : chunk.subarray(0, end);
    }
    const tail = this.tail(3);
    const joined = Buffer.concat([tail, chunk]);
    const end = eventStart(joined, joined.length);
    // a blank line wholly in the held bytes was found when they came: nothing ends here
    if (end <= tail.length) {
      this.hold(chunk);
      return null;
    }
    const cut = end - tail.length;
    const complete = Buffer.concat([...this.parts, cut === chunk.length ? chunk : chunk.subarray(0, cut)]);
    this.parts = [];
    this.held = 0;
    if (cut < chunk.length) this.hold(chunk.subarray(cut));
    return complete;
  }

  /** What is held: the start of an event that has not ended (null when nothing is). */
  rest(): Buffer | null {
    return this.held === 0 ? null : Buffer.concat(this.parts);
  }

  private hold(b: Buffer): void {
    this.parts.push(b);
    this.held += b.length;
  }

  /** The last `n` held bytes (fewer when fewer are held). */
  private tail(n: number): Buffer {
    const last = this.parts[this.parts.length - 1]!;
    if (last.length >= n || this.parts.length === 1) return last.subarray(Math.max(0, last.length - n));
    const all = Buffer.concat(this.parts.slice(-n));
    return all.subarray(Math.max(0, all.length - n));
  }
}

/** Where the event holding `at` ends: after its blank line, or at the end of `b`. */
function eventEnd(b: Buffer, at: number): number {
  let end = b.length;
  for (const [blank, length] of BLANK_LINES) {
    const i = b.indexOf(blank, at);
    if (i !== -1) end = Math.min(end, i + length);
  }
  return end;
}
