import { z } from 'zod';
import { MAX_BODY_DEPTH, nestsDeeper } from '../json.ts';
import { orderedId } from './ordered-id.ts';
import { capBody, toClickHouseTime } from './row.ts';
import { unknownKeys } from './unknown-keys.ts';

/**
 * Events an application reports about itself (`POST /v1/events`), in the spirit of Sentry-style
 * SDKs: agent steps, tool calls, errors, scores and custom events, linked to proxied calls by
 * trace, session or request id. Stored in `watchllm.events` beside `requests`.
 */

const id = z.string().min(1).max(256);
const properties = z.record(z.string().max(256), z.string().max(4096)).refine((p) => Object.keys(p).length <= 64, {
  message: 'at most 64 properties',
});
/**
 * Free-form JSON the app attaches (inputs, outputs, arguments); stored as JSON text. Nested no
 * deeper than the proxy takes a body: JSON.parse reads any depth, but JSON.stringify (toEventRow)
 * overflows the stack some thousands of levels down, which answered 500.
 */
const json = z.unknown().refine((v) => !nestsDeeper(v, MAX_BODY_DEPTH), { message: `nests more than ${MAX_BODY_DEPTH} levels deep` });

/**
 * Event times accepted: from 1970 to before 2100. ClickHouse rejects a year it cannot parse at
 * flush, failing the whole batch (other tenants' events included), and the retention TTL
 * (`toDateTime(ts)`, see migrations.ts) wraps times outside 1970..2106 — an event dated 2150
 * would be deleted at the next merge. So a time outside is refused here, with a 400.
 */
export const EVENT_TIME_MIN_MS = 0;
export const EVENT_TIME_MAX_MS = Date.UTC(2100, 0, 1) - 1;

/** Epoch ms of an event's `ts` (ISO 8601 or epoch ms). */
export function eventTimeMs(ts: string | number): number {
  return typeof ts === 'number' ? ts : Date.parse(ts);
}

const eventTime = z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()]).refine(
  (ts) => {
    const ms = eventTimeMs(ts);
    return ms >= EVENT_TIME_MIN_MS && ms <= EVENT_TIME_MAX_MS;
  },
  {
    message: `expected a time from ${new Date(EVENT_TIME_MIN_MS).toISOString()} to ${new Date(EVENT_TIME_MAX_MS).toISOString()} (ISO 8601 or epoch ms)`,
  },
);

const common = {
  /**
   * Client-chosen id. The table's key is (project, ts, id), so a retry is stored once (after merges
   * / with FINAL) only when it repeats both `id` and `ts`: without `ts`, each send gets its own
   * arrival time and is a new row.
   */
  id: id.optional(),
  /** When it happened: ISO 8601 or epoch ms; defaults to arrival time. */
  ts: eventTime.optional(),
  trace_id: id.optional(),
  span_id: id.optional(),
  parent_id: id.optional(),
  session_id: id.optional(),
  request_id: id.optional(),
  user: id.optional(),
  properties: properties.optional(),
};

const durationMs = z.number().nonnegative().optional();

/**
 * Names people send for a field, mostly the `events` table's column names, and the field they
 * meant: the 400 for an unknown field suggests it.
 */
const FIELD_HINTS: Readonly<Record<string, string>> = {
  event_id: 'id',
  timestamp: 'ts',
  time: 'ts',
  trace: 'trace_id',
  span: 'span_id',
  parent: 'parent_id',
  parent_span_id: 'parent_id',
  session: 'session_id',
  user_id: 'user',
  score: 'value',
  metadata: 'properties',
  args: 'arguments',
};

/**
 * One event type's fields; any other field is a 400 naming it (a misspelt `session` would
 * otherwise be dropped and the event never linked to its calls).
 */
function eventOf<T extends string, S extends z.ZodRawShape>(type: T, shape: S) {
  const fields = { ...common, type: z.literal(type), ...shape };
  return z.strictObject(fields, { error: unknownKeys('field', `a ${type} event`, ['type', ...Object.keys(shape), ...Object.keys(common)], FIELD_HINTS) });
}

export const ingestEventSchema = z.discriminatedUnion('type', [
  eventOf('agent_step', {
    name: z.string().min(1).max(256),
    step: z.number().int().nonnegative().optional(),
    input: json.optional(),
    output: json.optional(),
    duration_ms: durationMs,
  }),
  eventOf('tool_call', {
    name: z.string().min(1).max(256),
    arguments: json.optional(),
    result: json.optional(),
    error: z.string().max(4096).optional(),
    duration_ms: durationMs,
  }),
  eventOf('error', {
    message: z.string().min(1).max(16_384),
    name: z.string().max(256).optional(),
    stack: z.string().max(65_536).optional(),
  }),
  eventOf('score', {
    name: z.string().min(1).max(256),
    value: z.number().finite(),
    comment: z.string().max(4096).optional(),
  }),
  eventOf('custom', {
    name: z.string().min(1).max(256),
    data: json.optional(),
  }),
]);
export type IngestEvent = z.infer<typeof ingestEventSchema>;

export const MAX_EVENTS_PER_BATCH = 1000;

export const ingestBatchSchema = z.strictObject(
  { events: z.array(ingestEventSchema).min(1).max(MAX_EVENTS_PER_BATCH) },
  { error: unknownKeys('field', 'the body', ['events']) },
);

/** One row of `watchllm.events`. */
export interface EventRow {
  event_id: string;
  ts: string;
  received_at: string;
  type: IngestEvent['type'];
  name: string;
  project: string;
  key_id: string;
  trace_id: string;
  span_id: string;
  parent_id: string;
  session: string;
  request_id: string;
  user: string;
  message: string;
  score: number | null;
  duration_ms: number | null;
  properties: Record<string, string>;
  /** the type-specific fields (input/output, arguments/result, stack, comment, data) as JSON */
  payload: string;
}

export const MAX_PAYLOAD_BYTES = 64 * 1024;

/** Map a validated event to its row. `now` is the arrival time (ms). */
export function toEventRow(e: IngestEvent, ctx: { project: string | null; keyId: string | null; now: number }): EventRow {
  const { id: eventId, ts, trace_id, span_id, parent_id, session_id, request_id, user, properties: props, ...rest } = e;
  const { type, ...specific } = rest;
  // what has a column of its own is not repeated in the payload
  const payload = Object.fromEntries(
    Object.entries(specific).filter(([k]) => !['name', 'message', 'value', 'duration_ms', 'error'].includes(k)),
  );
  const at = ts === undefined ? ctx.now : eventTimeMs(ts);
  const row: EventRow = {
    // time-ordered: events of one batch sent without `ts` share it, and keep their order by id
    event_id: eventId ?? orderedId(ctx.now),
    ts: toClickHouseTime(at),
    received_at: toClickHouseTime(ctx.now),
    type,
    name: 'name' in specific ? (specific.name ?? '') : '',
    project: ctx.project ?? '',
    key_id: ctx.keyId ?? '',
    trace_id: trace_id ?? '',
    span_id: span_id ?? '',
    parent_id: parent_id ?? '',
    session: session_id ?? '',
    request_id: request_id ?? '',
    user: user ?? '',
    message: e.type === 'error' ? e.message : e.type === 'tool_call' ? (e.error ?? '') : '',
    score: e.type === 'score' ? e.value : null,
    duration_ms: e.type === 'agent_step' || e.type === 'tool_call' ? (e.duration_ms ?? null) : null,
    properties: props ?? {},
    payload: capBody(JSON.stringify(payload), MAX_PAYLOAD_BYTES),
  };
  return row;
}
