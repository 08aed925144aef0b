/**
 * The per-request context every provider handler receives, and the small response helpers they
 * share. Kept free of provider knowledge.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoredResponses } from './responses.ts';
import type { Scenario } from './scenario.ts';

export interface RecordedCall {
  method: string;
  /** path without the query string */
  path: string;
  query: Record<string, string>;
  /** lower-case names; repeated headers joined with ", " */
  headers: Record<string, string>;
  /** the parsed JSON body when it is an object; null for no body, invalid JSON or a non-object */
  body: Record<string, unknown> | null;
  rawBody: string;
  /** the body's bytes as they came (a multipart form's file is binary: `rawBody` is its UTF-8 reading) */
  rawBytes: Buffer;
  /** status sent, 0 while no headers were sent */
  status: number;
  /** the client went away before the response was complete */
  aborted: boolean;
  /** the fake cut the stream on purpose (`dropAfterChunks`) */
  dropped: boolean;
  /** the scenario the request was answered with (default, queued and header merged) */
  scenario: Scenario;
}

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  call: RecordedCall;
  body: Record<string, unknown> | null;
  /** the body was present but not valid JSON */
  badJson: boolean;
  scenario: Scenario;
  query: URLSearchParams;
  /** null: any non-empty key is accepted */
  validKeys: ReadonlySet<string> | null;
  /** a fresh id suffix, unique within this server */
  nextId: () => string;
  /** the Responses API's stored responses, by id (this server's, until reset) */
  responses: StoredResponses;
  /** the response is over (finished, aborted by the client, or dropped) */
  closed: boolean;
}

export type KeyCheck = 'ok' | 'missing' | 'invalid';

export function checkKey(ctx: Ctx, key: string | undefined): KeyCheck {
  if (!key) return 'missing';
  if (ctx.validKeys && !ctx.validKeys.has(key)) return 'invalid';
  return 'ok';
}

/** The bearer token of an `Authorization: Bearer <key>` header, if any. */
export function bearer(ctx: Ctx): string | undefined {
  const h = ctx.call.headers['authorization'];
  if (!h) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h);
  return m?.[1]?.trim() || undefined;
}

export function sendJson(ctx: Ctx, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (ctx.closed) return;
  const text = JSON.stringify(body);
  ctx.call.status = status;
  ctx.res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  ctx.res.end(text);
}

/** Resolves after `ms`, or as soon as the response closes (client abort, server close). */
export function sleep(ctx: Ctx, ms: number | undefined): Promise<void> {
  if (!ms || ms <= 0 || ctx.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      ctx.res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    ctx.res.once('close', done);
  });
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Seconds for `retry-after` on throttling statuses; undefined for other statuses. */
export function retryAfterFor(scenario: Scenario, status: number): string | undefined {
  if (status !== 429 && status !== 503 && status !== 529) return undefined;
  return String(scenario.retryAfter ?? 1);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string content, or the `text` of each part of a content-part array joined by spaces. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const part of content) {
    if (typeof part === 'string') out += ' ' + part;
    else if (isRecord(part) && typeof part.text === 'string') out += ' ' + part.text;
  }
  return out;
}
