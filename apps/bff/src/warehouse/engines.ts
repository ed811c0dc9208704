import { DuckDBInstance } from '@duckdb/node-api';
import type { Clock } from '@lakehouse/core';
import { DuckDbEngine } from '@lakehouse/core/node';

/** A fixed set of DuckDB engines (one connection each, on one DuckDB instance) lent out one task at a time. */
export class EnginePool {
  private readonly idle: DuckDbEngine[] = [];
  private readonly waiting: ((e: DuckDbEngine) => void)[] = [];

  private constructor(engines: DuckDbEngine[]) {
    this.idle.push(...engines);
  }

  /** A pool of `size` engines with TimeZone UTC; with `tempDir`, DuckDB spills to disk past `memoryLimit`. */
  static async create(size: number, clock: Clock, options: { tempDir?: string; memoryLimit?: string } = {}): Promise<EnginePool> {
    const settings: Record<string, string> = {};
    if (options.tempDir) settings.temp_directory = options.tempDir;
    if (options.memoryLimit) settings.memory_limit = options.memoryLimit;
    const instance = await DuckDBInstance.create(':memory:', settings);
    const engines: DuckDbEngine[] = [];
    for (let i = 0; i < size; i++) {
      const conn = await instance.connect();
      await conn.run("SET TimeZone='UTC'");
      engines.push(new DuckDbEngine(conn, clock));
    }
    return new EnginePool(engines);
  }

  /** Runs `fn` with an engine of its own; the engine returns to the pool afterwards, whatever happens. */
  async with<T>(fn: (engine: DuckDbEngine) => Promise<T>): Promise<T> {
    const engine = this.idle.pop() ?? (await new Promise<DuckDbEngine>((r) => this.waiting.push(r)));
    try {
      return await fn(engine);
    } finally {
      const next = this.waiting.shift();
      if (next) next(engine);
      else this.idle.push(engine);
    }
  }
}
