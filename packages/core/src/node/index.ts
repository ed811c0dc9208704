// Node entry of the core: adapters that need Node built-ins or native engines.
/** Local-filesystem Storage with atomic (hard-link based) putIfAbsent. */
export { FsStorage } from './fs-storage.js';
/** Writes Parquet data files with DuckDB for Node. */
export { writeDataFiles, type WriteDataFilesOptions } from './duckdb-writer.js';
/** DuckDB for Node as the DataEngine of operations. */
export { DuckDbEngine } from './duckdb-engine.js';
/** Queries over table versions with DuckDB for Node. */
export { queryTable, tableQuerySql, assertFilesExist, localFileUrl, type TableQueryOptions } from './query.js';
