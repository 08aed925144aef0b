/**
 * What the gateway and its embedded store process (store-process.ts) say over the IPC channel
 * (advanced serialization: Buffers go as bytes). One request per ClickHouse call, one reply each.
 */
/** A call's parameters as they cross: no abort signal (an `abort` message instead), bodies as bytes. */
export interface StoreQueryParams {
  query: string;
  clickhouse_settings?: Record<string, unknown>;
  query_params?: Record<string, unknown>;
  query_id?: string;
}

/** How a batch's rows are encoded: request rows in RowBinary (row-binary.ts) or spooled JSON lines, ingested events as JSON objects. */
export type BatchFormat = 'JSONEachRow' | 'JSONCompactEachRow' | 'RowBinary';

export interface StoreBatch {
  table: string;
  columns?: readonly string[];
  format: BatchFormat;
  settings: Record<string, string | number>;
  values: Uint8Array;
}

/**
 * A batch insert's message: its rows do not go through the channel's serializer (which copied every
 * batch into freshly allocated memory on the gateway's main thread) but as `bytes` bytes on the
 * store's data pipe (file descriptor DATA_FD), in the order of these messages.
 */
export type StoreBatchHead = Omit<StoreBatch, 'values'> & { bytes: number };

/** The store process's data pipe: after stdin, stdout, stderr and the IPC channel. */
export const DATA_FD = 4;

export type StoreRequest =
  | { id: number; op: 'ping' }
  | { id: number; op: 'query'; params: StoreQueryParams }
  | { id: number; op: 'command'; params: StoreQueryParams }
  | { id: number; op: 'exec'; params: StoreQueryParams & { values?: Buffer } }
  | { id: number; op: 'insert'; params: StoreQueryParams & { values: Buffer } }
  | { id: number; op: 'insertBatch'; params: StoreBatchHead }
  | { op: 'abort'; target: number }
  | { op: 'close' };

export interface StoreResult {
  query_id?: string;
  summary?: unknown;
  bytes?: Uint8Array;
}

/** The requests that get a reply. */
export type StoreCall = Extract<StoreRequest, { id: number }>;

export type StoreReply =
  | { ready: true }
  /** the engine could not open the folder (another process holds it, no permission): the process exits */
  | { failed: string }
  | { id: number; ok: true; result: StoreResult }
  | { id: number; ok: false; error: { message: string; code?: string; type?: string } };
