// A separate entry of the build, imported by index.html's inline script when the page opens with a session of its
// tab or with a login link (see vite.config.ts): it starts DuckDB-WASM (its worker, wasm compile and open) while the
// console's own JavaScript is still loading, instead of after it has loaded and rendered. The engine module is the
// one the console uses (the same chunk), so the console finds the engine started.
import { getDuckDb } from './lib/duckdb/engine.js';

void getDuckDb().catch(() => undefined);
