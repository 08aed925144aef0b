import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { GatewayError } from '../errors.ts';
import { failWith, limitBody } from '../http/hono-errors.ts';
import { MAX_BODY_DEPTH, nestsDeeperText } from '../json.ts';
import { table } from './client.ts';
import { ingestBatchSchema, toEventRow } from './ingest.ts';
import { aggregate, aggregateSchema, getRequest, listFiltersSchema, listRequests } from './query.ts';
import type { EventWriter } from './writer.ts';

export interface EventRoutesDeps {
  client: ClickHouseClient;
  /** When given, ingested events go through the writer (batched, spooled); else inserted at once. */
  writer?: Pick<EventWriter, 'recordEvents'>;
  /** Who is sending events; the lead's auth middleware knows. Default: nobody (''). */
  identify?: (c: Context) => { project: string | null; keyId: string | null };
  now?: () => number;
}

const DAY_MS = 86_400_000;

/**
 * Largest `POST /v1/events` body: 8 MiB, 8 KiB for each of the MAX_EVENTS_PER_BATCH events —
 * far more than SDK batches use, and far less than the proxy's WATCHLLM_MAX_BODY_MB (64 MB by
 * default, sized for prompts), since a parsed batch is held in memory several times over (JSON
 * text, objects, rows) until it is flushed. Each event's payload is stored cut to 64 KiB anyway.
 */
export const MAX_INGEST_BODY_BYTES = 8 * 1024 * 1024;

/** Query parameters as an object: `property` may repeat, everything else takes its first value. */
function queryObject(c: Context): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(c.req.queries())) {
    const first = v[0];
    if (k === 'property') out[k] = v;
    else if (first !== undefined) out[k] = first;
  }
  return out;
}


/**
 * A zod failure as OpenAI's 400: the first issue, with its path as `param` (`events.0.name`); an
 * unknown field or query parameter is named itself (`events.0.session`, `endpoint`).
 */
function invalid(c: Context, error: z.ZodError) {
  const issue = error.issues[0];
  const path = issue ? [...issue.path] : [];
  if (issue?.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  const param = path.join('.');
  return failWith(c, GatewayError.invalid(`${param ? `${param}: ` : ''}${issue?.message ?? 'invalid input'}`, param || null));
}

const ingestBodyLimit = limitBody(
  MAX_INGEST_BODY_BYTES,
  `The events batch exceeds the limit of ${MAX_INGEST_BODY_BYTES / 1024 / 1024} MB; send fewer events per request.`,
);

function unavailable(c: Context, e: unknown) {
  return failWith(
    c,
    new GatewayError({
      status: 503,
      type: 'api_error',
      code: 'events_unavailable',
      message: `The event store did not answer: ${e instanceof Error ? e.message : String(e)}`,
    }),
  );
}

/**
 * Query API (`/admin/requests`, `/admin/requests/:id`, `/admin/stats`) and ingest API
 * (`POST /v1/events`). Authentication is the mounting app's job: admin token for `/admin/*`,
 * the proxy's credentials for `/v1/events`.
 *
 * @example
 * app.route('/', eventRoutes({ client, writer, identify: (c) => c.get('identity') }));
 */
/** Levels around an event's free-form field: the batch object, its list, the event, an `output` object. */
const ENVELOPE_DEPTH = 8;

export function eventRoutes(deps: EventRoutesDeps): Hono {
  const { client, writer, identify = () => ({ project: null, keyId: null }), now = Date.now } = deps;
  const app = new Hono();

  app.get('/admin/requests', async function listRoute(c) {
    const { cursor, ...rest } = queryObject(c);
    const parsed = listFiltersSchema.safeParse(rest);
    if (!parsed.success) return invalid(c, parsed.error);
    const cur = typeof cursor === 'string' ? cursor : null;
    try {
      return c.json(await listRequests(client, parsed.data, cur));
    } catch (e) {
      if (e instanceof z.ZodError) return failWith(c, GatewayError.invalid('cursor: not a cursor this API returned', 'cursor'));
      return unavailable(c, e);
    }
  });

  app.get('/admin/requests/:id', async function getRoute(c) {
    const id = c.req.param('id');
    try {
      const row = await getRequest(client, id);
      if (row) return c.json(row);
    } catch (e) {
      return unavailable(c, e);
    }
    return failWith(c, new GatewayError({ status: 404, type: 'invalid_request_error', code: 'not_found', message: `No request with id ${id}` }));
  });

  app.get('/admin/stats', async function statsRoute(c) {
    const q = queryObject(c);
    const t = now();
    const parsed = aggregateSchema.safeParse({ from: t - DAY_MS, to: t, ...q });
    if (!parsed.success) return invalid(c, parsed.error);
    try {
      return c.json({ data: await aggregate(client, parsed.data) });
    } catch (e) {
      return unavailable(c, e);
    }
  });

  app.post('/v1/events', ingestBodyLimit, async function ingestRoute(c) {
    let body: unknown;
    const text = await c.req.text();
    // before parsing: a body of nested brackets holds the event loop while it parses (json.ts). The
    // limit is a field's (ingest.ts checks each) plus the batch's own few levels around it.
    if (nestsDeeperText(text, MAX_BODY_DEPTH + ENVELOPE_DEPTH)) {
      return failWith(c, GatewayError.invalid(`The body nests more than ${MAX_BODY_DEPTH} levels deep.`, null, 'invalid_request'));
    }
    try {
      body = JSON.parse(text);
    } catch {
      return failWith(c, GatewayError.invalid('The body is not valid JSON.', null, 'invalid_json'));
    }
    const parsed = ingestBatchSchema.safeParse(body);
    if (!parsed.success) return invalid(c, parsed.error);
    const who = identify(c);
    const at = now();
    const rows = parsed.data.events.map((e) => toEventRow(e, { ...who, now: at }));
    if (writer) {
      const accepted = writer.recordEvents(rows);
      if (accepted < rows.length) {
        return failWith(
          c,
          new GatewayError({
            status: 503,
            type: 'api_error',
            code: 'events_queue_full',
            message: `The event queue is full: accepted ${accepted} of ${rows.length} events.`,
            headers: { 'retry-after': '1' },
          }),
        );
      }
      return c.json({ accepted }, 202);
    }
    try {
      await client.insert({
        table: table(client, 'events'),
        values: rows,
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplication_token: randomUUID() },
      });
    } catch (e) {
      return unavailable(c, e);
    }
    return c.json({ accepted: rows.length }, 202);
  });

  return app;
}
