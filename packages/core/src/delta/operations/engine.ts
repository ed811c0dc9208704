import type { AddAction } from '../actions.js';
import type { ScanFile } from '../scan.js';
import type { ColumnMappingMode, StructType } from '../schema.js';
import type { TableRef } from '../snapshot.js';

/** A column of a source, as the engine describes it. */
export interface SourceColumn {
  name: string;
  /** The engine's type name (DuckDB syntax). */
  engineType: string;
}

/**
 * The data engine operations use to read and write rows (DuckDB for Node implements it). Sources are SELECT
 * statements in the engine's SQL; the core never touches rows itself.
 */
export interface DataEngine {
  /** Location the engine reads a planned file from. */
  fileUrl(table: TableRef, file: ScanFile): string;
  /** Column names and engine types of a source query. */
  describe(sourceSql: string): Promise<SourceColumn[]>;
  /** Runs a query returning one numeric value in the first column of the first row. */
  queryNumber(sql: string): Promise<number>;
  /** Runs a query returning rows as JSON-safe objects. */
  queryRows(sql: string): Promise<Record<string, unknown>[]>;
  /** Writes the rows of `sourceSql` (logical columns of `schema`) as data files of the table; files stay invisible until committed. */
  writeFiles(
    table: TableRef,
    layout: { schema: StructType; partitionColumns: string[]; columnMappingMode: ColumnMappingMode },
    sourceSql: string,
    options?: {
      dataChange?: boolean;
      /** The source's column names in order, when the caller knows them (the engine then does not describe the source). */
      sourceColumns?: readonly string[];
    },
  ): Promise<AddAction[]>;
}
