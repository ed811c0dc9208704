import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { LakehouseError } from '../errors.js';
import type { AddAction } from '../delta/actions.js';
import type { DataEngine, SourceColumn } from '../delta/operations/engine.js';
import type { ScanFile } from '../delta/scan.js';
import type { ColumnMappingMode, StructType } from '../delta/schema.js';
import type { TableRef } from '../delta/snapshot.js';
import type { Clock } from '../storage/storage.js';
import { systemClock } from '../storage/storage.js';
import { writeDataFiles } from './duckdb-writer.js';

/** DuckDB for Node as the data engine of the core's operations (tables on local disk). */
export class DuckDbEngine implements DataEngine {
  private queue: Promise<unknown> = Promise.resolve();
  /** The engine whose queue this one shares (withConstantPartitions), else undefined. */
  private parent?: DuckDbEngine;
  /** Partition values every row written through this engine has (see withConstantPartitions). */
  private constantPartitionValues?: Record<string, string | null>;

  constructor(
    /** The connection every statement runs on (statements are serialized). */
    readonly connection: DuckDBConnection,
    private readonly clock: Clock = systemClock,
  ) {}

  /** A fresh in-memory DuckDB with TimeZone UTC. */
  static async create(clock: Clock = systemClock): Promise<DuckDbEngine> {
    const conn = await (await DuckDBInstance.create(':memory:')).connect();
    await conn.run("SET TimeZone='UTC'");
    return new DuckDbEngine(conn, clock);
  }

  /**
   * The same engine (same connection, statements serialized with this one's) whose writes tell the writer that every
   * row has these partition values (logical column name → serialized value, as in add.partitionValues), so that it
   * streams them into files without a partitioning step. The writer checks every row: a row with another value fails
   * the write. Columns the table is not partitioned by are ignored; a table with a partition column not named here is
   * written as usual.
   */
  withConstantPartitions(values: Record<string, string | null>): DuckDbEngine {
    const e = new DuckDbEngine(this.connection, this.clock);
    e.parent = this.parent ?? this;
    e.constantPartitionValues = { ...this.constantPartitionValues, ...values };
    return e;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.parent) return this.parent.serial(fn);
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Local path of the file (the storage must be a local disk). */
  fileUrl(table: TableRef, file: ScanFile): string {
    if (!table.storage.localPath) throw new LakehouseError('INVALID_INPUT', `DuckDB for Node reads local tables only; ${table.storage.root} is not local`);
    return table.storage.localPath(file.key);
  }

  /** Column names and DuckDB types of a query. */
  describe(sourceSql: string): Promise<SourceColumn[]> {
    return this.serial(async () => {
      const r = await this.run(`DESCRIBE ${stripSemicolon(sourceSql)}`);
      return r.map((row) => ({ name: String(row.column_name), engineType: String(row.column_type) }));
    });
  }

  /** First column of the first row as a number. */
  queryNumber(sql: string): Promise<number> {
    return this.serial(async () => {
      const rows = await this.run(sql);
      const v = rows[0] ? Object.values(rows[0])[0] : null;
      return Number(v ?? 0);
    });
  }

  /** Rows as JSON-safe objects. */
  queryRows(sql: string): Promise<Record<string, unknown>[]> {
    return this.serial(() => this.run(sql));
  }

  /** Writes data files with the DuckDB Parquet writer. */
  writeFiles(
    table: TableRef,
    layout: { schema: StructType; partitionColumns: string[]; columnMappingMode: ColumnMappingMode },
    sourceSql: string,
    options: { dataChange?: boolean; sourceColumns?: readonly string[] } = {},
  ): Promise<AddAction[]> {
    return this.serial(() =>
      writeDataFiles({
        connection: this.connection,
        storage: table.storage,
        tableKey: table.tableKey,
        source: sourceSql,
        schema: layout.schema,
        partitionColumns: layout.partitionColumns,
        columnMappingMode: layout.columnMappingMode,
        clock: this.clock,
        dataChange: options.dataChange ?? true,
        sourceColumns: options.sourceColumns,
        constantPartitionValues: this.constantPartitionValues,
      }),
    );
  }

  private async run(sql: string): Promise<Record<string, unknown>[]> {
    try {
      const r = await this.connection.runAndReadAll(sql);
      return r.getRowObjectsJson() as Record<string, unknown>[];
    } catch (e) {
      throw new LakehouseError('INVALID_INPUT', (e as Error).message.split('\n')[0], {}, { cause: e });
    }
  }
}

function stripSemicolon(sql: string): string {
  return sql.trim().replace(/;\s*$/, '');
}
