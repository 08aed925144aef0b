/** The event store: ClickHouse client, schema, writer, query and ingest routes. */
export { createClickHouse, databaseOf, DEFAULT_DATABASE, storeCrashes, storeProcessId, type ClickHouseClient } from './client.ts';
export { appliedVersions, migrate, migrateAtStart, migrations, type MigrateOptions, type Migration } from './migrations.ts';
export { capBody, DEFAULT_MAX_BODY_BYTES, toRow, type RequestRow, type RowOptions } from './row.ts';
export {
  createEventWriter,
  registerWriterMetrics,
  writerOptionsFor,
  type EventWriter,
  type EventWriterOptions,
  type WriterLogger,
  type WriterSettings,
  type WriterStats,
} from './writer.ts';
export {
  aggregate,
  aggregateSchema,
  getRequest,
  listFiltersSchema,
  listRequests,
  type AggregatePoint,
  type AggregateQuery,
  type ListFilters,
  type RequestPage,
  type RequestSummary,
} from './query.ts';
export { ingestBatchSchema, ingestEventSchema, toEventRow, type EventRow, type IngestEvent } from './ingest.ts';
export { eventRoutes, type EventRoutesDeps } from './routes.ts';
