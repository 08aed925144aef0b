import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { table } from './client.ts';
import { unknownKeys } from './unknown-keys.ts';
import { CLICKHOUSE_TIME_MAX_MS, CLICKHOUSE_TIME_MIN_MS, isClickHouseTime, toClickHouseTime, type RequestRow } from './row.ts';

/**
 * Read side of the event store, for the console and scripts. Every value reaches ClickHouse as a
 * typed query parameter (`{name:Type}`); the only text spliced into SQL comes from fixed
 * whitelists (bucket function, group-by column) and the validated database name.
 * https://clickhouse.com/docs/interfaces/cli#cli-queries-with-parameters
 */

/**
 * A whole number as a query string writes it: decimal digits only. z.coerce.number read '' and ' '
 * as 0, '0x1F4' as 500 and '1e2' as 100. Callers in code may pass a number.
 */
const digits = (expected: string) =>
  z
    .union([z.number(), z.string().regex(/^\d+$/).transform(Number)], { error: `expected ${expected} in decimal digits` })
    .pipe(z.number().int().nonnegative());

const time = z.union([z.iso.datetime({ offset: true, local: true }), z.iso.date(), digits('epoch ms')], {
  error: 'expected an ISO 8601 time, or epoch ms in decimal digits',
});

/**
 * Epoch ms of an ISO 8601 time; without an offset it is UTC, like every time this API shows (and
 * like a bare date): Date.parse would read `2026-01-15T12:00:00` in the server's time zone.
 */
function isoMs(v: string): number {
  return Date.parse(/T[\d:.]+$/.test(v) ? `${v}Z` : v);
}

/**
 * ISO 8601 (`2026-01-15T12:00:00Z`, `2026-01-15T12:00:00` as UTC, `2026-01-15`) or epoch
 * milliseconds → ms, within what DateTime64(3) holds: beyond it the time cannot be sent as a
 * parameter (a 400 naming it, not an event store failure), and before it ClickHouse would silently
 * read year 0 as 1970.
 */
const instant = time
  .transform((v) => (typeof v === 'number' ? v : isoMs(v)))
  .refine(isClickHouseTime, {
    message: `expected a time from ${new Date(CLICKHOUSE_TIME_MIN_MS).toISOString()} to ${new Date(CLICKHOUSE_TIME_MAX_MS).toISOString()}`,
  });

/**
 * `name=value`. Names are matched lowercased: they are recorded from HTTP header names
 * (`x-watchllm-property-<name>`), which are case-insensitive and arrive lowercased.
 */
const property = z
  .string()
  .regex(/^[^=]+=/, 'expected name=value')
  .transform((s) => {
    const i = s.indexOf('=');
    return { name: s.slice(0, i).toLowerCase(), value: s.slice(i + 1) };
  });

const listFilters = {
  from: instant.optional(),
  to: instant.optional(),
  project: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  provider: z.string().min(1).optional(),
  status_code: digits('an HTTP status code').pipe(z.number().max(999)).optional(),
  outcome: z.string().min(1).optional(),
  key_id: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
  session: z.string().min(1).optional(),
  /** the trace (`x-watchllm-trace-id` or traceparent's), as reported events carry it in trace_id */
  trace_id: z.string().min(1).optional(),
  /** `name=value`, repeatable (all must match) */
  property: z.array(property).max(10).optional(),
  /** case-insensitive substring of the request or response body */
  q: z.string().min(1).max(500).optional(),
  limit: digits('a count').pipe(z.number().min(1).max(200)).default(50),
};

/** Filters of `/admin/requests`; any other parameter is a 400 naming it, not a filter silently ignored. */
export const listFiltersSchema = z.strictObject(listFilters, {
  error: unknownKeys('parameter', '/admin/requests', [...Object.keys(listFilters), 'cursor']),
});
export type ListFilters = z.output<typeof listFiltersSchema>;
export type ListFiltersInput = z.input<typeof listFiltersSchema>;

/** A listed request: everything but the bodies (fetch one by id for those). */
export type RequestSummary = Omit<RequestRow, 'request_body' | 'response_body'>;

export interface RequestPage {
  rows: RequestSummary[];
  /** Pass back to get the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/**
 * A row's `ts` as ClickHouse writes a DateTime64(3) (`2026-11-26 21:59:53.925`, UTC), naming a real
 * time it holds: `9999-99-99 99:99:99` has the shape but is no time.
 */
function isRowTime(ts: string): boolean {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d{1,3})?$/.exec(ts);
  if (!m) return false;
  const iso = `${m[1]}T${m[2]}`;
  const ms = Date.parse(`${iso}${m[3] ?? ''}Z`);
  // Date.parse rolls some impossible dates over (2026-02-30 is March 2nd): the time must read back as written
  return isClickHouseTime(ms) && new Date(ms).toISOString().startsWith(iso);
}

const cursorSchema = z.tuple([z.string().refine(isRowTime), z.string()]);

export function encodeCursor(ts: string, requestId: string): string {
  return Buffer.from(JSON.stringify([ts, requestId])).toString('base64url');
}

/** Throws a ZodError (a 400 for the caller) when the cursor was not made by us. */
export function decodeCursor(cursor: string): { ts: string; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  const [ts, id] = cursorSchema.parse(parsed);
  return { ts, id };
}

const SUMMARY_COLUMNS = `* EXCEPT (request_body, response_body)`;

/** `s` as it is written inside a JSON string: `"`, `\\` and control characters escaped. */
const jsonEscaped = (s: string): string => JSON.stringify(s).slice(1, -1);
/** ... and every character beyond ASCII as `\uXXXX`, as Python's json.dumps writes by default. */
const asciiEscaped = (s: string): string =>
  jsonEscaped(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * The forms `q` may take in a stored body, which is the JSON text the client sent: as typed, as
 * JSON escapes it (`"` is `\"`, a newline `\n`), and with non-ASCII escaped too (`crème` is
 * `cr\u00e8me`). The search is case-insensitive, but not across an escape (`è` is `\u00e8`, `È`
 * is `\u00c8`): the escaped form is sent lowercased and uppercased, which finds a word whose
 * accented letters share one case. Parameters, never SQL text.
 */
export function bodyNeedles(q: string): string[] {
  const forms = new Map<string, string>();
  for (const f of [q, jsonEscaped(q), asciiEscaped(q.toLowerCase()), asciiEscaped(q.toUpperCase())]) {
    // one of each: the search folds case anyway
    if (!forms.has(f.toLowerCase())) forms.set(f.toLowerCase(), f);
  }
  return [...forms.values()];
}

/**
 * Newest first, keyset-paginated on (ts, request_id): stable under concurrent inserts and as fast
 * on page 1000 as on page 1, unlike OFFSET.
 */
export async function listRequests(
  client: ClickHouseClient,
  filters: ListFilters,
  cursor?: string | null,
): Promise<RequestPage> {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  const eq = (column: keyof ListFilters & string, type: string, value: unknown) => {
    if (value === undefined) return;
    where.push(`${column} = {${column}:${type}}`);
    params[column] = value;
  };
  if (filters.from !== undefined) {
    where.push(`ts >= {from:DateTime64(3, 'UTC')}`);
    params.from = toClickHouseTime(filters.from);
  }
  if (filters.to !== undefined) {
    where.push(`ts < {to:DateTime64(3, 'UTC')}`);
    params.to = toClickHouseTime(filters.to);
  }
  eq('project', 'String', filters.project);
  eq('model', 'String', filters.model);
  eq('provider', 'String', filters.provider);
  eq('status_code', 'UInt16', filters.status_code);
  eq('outcome', 'String', filters.outcome);
  eq('key_id', 'String', filters.key_id);
  eq('user', 'String', filters.user);
  eq('session', 'String', filters.session);
  eq('trace_id', 'String', filters.trace_id);
  for (const [i, p] of (filters.property ?? []).entries()) {
    where.push(`properties[{pk${i}:String}] = {pv${i}:String}`);
    params[`pk${i}`] = p.name;
    params[`pv${i}`] = p.value;
  }
  if (filters.q !== undefined) {
    where.push('(multiSearchAnyCaseInsensitiveUTF8(request_body, {q:Array(String)}) OR multiSearchAnyCaseInsensitiveUTF8(response_body, {q:Array(String)}))');
    params.q = bodyNeedles(filters.q);
  }
  // '' too: an empty cursor is a 400 like any other empty parameter, not the first page
  if (cursor !== undefined && cursor !== null) {
    const c = decodeCursor(cursor);
    where.push(`(ts, request_id) < ({cursor_ts:DateTime64(3, 'UTC')}, {cursor_id:String})`);
    params.cursor_ts = c.ts;
    params.cursor_id = c.id;
  }
  params.limit = filters.limit + 1;
  const rs = await client.query({
    query: `SELECT ${SUMMARY_COLUMNS} FROM ${table(client, 'requests')}
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ts DESC, request_id DESC
      LIMIT {limit:UInt32}`,
    query_params: params,
    format: 'JSONEachRow',
  });
  const rows = await rs.json<RequestSummary>();
  const more = rows.length > filters.limit;
  if (more) rows.length = filters.limit;
  const last = rows.at(-1);
  return { rows, nextCursor: more && last ? encodeCursor(last.ts, last.request_id) : null };
}

export async function getRequest(client: ClickHouseClient, id: string): Promise<RequestRow | null> {
  const rs = await client.query({
    query: `SELECT * FROM ${table(client, 'requests')} WHERE request_id = {id:String} LIMIT 1`,
    query_params: { id },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<RequestRow>();
  return row ?? null;
}

const BUCKETS = { '1m': 'toStartOfMinute', '1h': 'toStartOfHour', '1d': 'toStartOfDay' } as const;
const GROUPS = ['model', 'provider', 'key_id', 'project'] as const;

const aggregateFields = {
  from: instant,
  to: instant,
  bucket: z.enum(['1m', '1h', '1d']).default('1h'),
  groupBy: z.enum(GROUPS).optional(),
  project: z.string().min(1).optional(),
};
export const aggregateSchema = z.strictObject(aggregateFields, { error: unknownKeys('parameter', '/admin/stats', Object.keys(aggregateFields)) });
export type AggregateQuery = z.input<typeof aggregateSchema>;

export interface AggregatePoint {
  /** bucket start, 'YYYY-MM-DD HH:MM:SS' UTC */
  bucket: string;
  /** the group-by value, '' when not grouped */
  group: string;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** sum of known costs; calls of unpriced models are counted in `unpriced`, not here */
  cost_usd: number;
  unpriced: number;
  p50_ms: number;
  p95_ms: number;
}

const MINUTE_MS = 60_000;

/**
 * Time series from the minute rollup, so charts stay fast at tens of millions of rows. The rollup
 * knows minutes, not calls: `from` is rounded down and `to` up to whole minutes, so a minute the
 * range touches counts whole at either edge (comparing minute starts with a mid-minute `from`
 * dropped that minute, while a mid-minute `to` kept all of its).
 */
export async function aggregate(client: ClickHouseClient, query: AggregateQuery): Promise<AggregatePoint[]> {
  const q = aggregateSchema.parse(query);
  const from = Math.floor(q.from / MINUTE_MS) * MINUTE_MS;
  // the last minute DateTime64 holds starts before its maximum, so clamping keeps it
  const to = Math.min(Math.ceil(q.to / MINUTE_MS) * MINUTE_MS, CLICKHOUSE_TIME_MAX_MS);
  const group = q.groupBy ? `t.${q.groupBy}` : `''`;
  const rs = await client.query({
    query: `SELECT
        toString(${BUCKETS[q.bucket]}(t.minute)) AS bucket,
        ${group} AS group_key,
        sum(t.requests) AS requests,
        sum(t.errors) AS errors,
        sum(t.prompt_tokens) AS prompt_tokens,
        sum(t.completion_tokens) AS completion_tokens,
        sum(t.cost_usd) AS cost_usd,
        sum(t.unpriced) AS unpriced,
        quantilesMerge(0.5, 0.95, 0.99)(t.latency_ms) AS latency
      FROM ${table(client, 'requests_1m')} AS t
      WHERE t.minute >= {from:DateTime64(3, 'UTC')} AND t.minute < {to:DateTime64(3, 'UTC')}
        ${q.project ? 'AND t.project = {project:String}' : ''}
      GROUP BY bucket, group_key
      ORDER BY bucket, group_key`,
    query_params: {
      from: toClickHouseTime(from),
      to: toClickHouseTime(to),
      ...(q.project ? { project: q.project } : {}),
    },
    format: 'JSONEachRow',
  });
  type Raw = Omit<AggregatePoint, 'group' | 'p50_ms' | 'p95_ms'> & { group_key: string; latency: number[] };
  const rows = await rs.json<Raw>();
  return rows.map(({ latency, group_key, ...r }) => ({
    ...r,
    group: group_key,
    p50_ms: latency[0] ?? 0,
    p95_ms: latency[1] ?? 0,
  }));
}
