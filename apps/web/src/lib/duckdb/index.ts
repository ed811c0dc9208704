// DuckDB-WASM for the console: the one lazily started engine, views over warehouse tables, sessions and values.
export { getDuckDb, duckDbRequested, networkCounters, trafficBetween, type DuckDbEngine, type NetworkCounters, type FileTraffic } from './engine.js';
export { ensureView, ensureViews, fetchScan, invalidateTableView, planOf, type TableView } from './views.js';
export {
  SqlSession,
  QueryError,
  ResultSet,
  errorOffset,
  errorSummary,
  queryOnce,
  type QueryOutcome,
  type QueryPhase,
  type QueryStats,
  type ResultColumn,
  type RunOptions,
} from './query.js';
export { TypeId, typeInfo, type DataType, type TypeInfo } from './arrow.js';
export { arrowTypeName, cellNumber, formatCell, formatDate, formatDecimal, formatTimestamp, isNumericType, isTemporalType } from './values.js';
