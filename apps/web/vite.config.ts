import react from '@vitejs/plugin-react';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';
import { EH_TEST_MODULE_BYTES, WORKER_SOURCE } from './src/lib/duckdb/worker-source.js';

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** Hashed assets the BFF serves precompressed: `<file>.gz` and (text) `<file>.br` next to each. */
const COMPRESSIBLE = /\.(js|css|html|svg|json|wasm)$/;

/**
 * Writes `.gz` (and for text, `.br`) siblings of the built assets, so that the BFF serves them compressed without
 * compressing per request. DuckDB's wasm (24 MB, 6.4 MB gzipped) gets gzip only: brotli at a useful level takes many
 * seconds per build, and browsers offer brotli on HTTPS origins only.
 */
function precompress(): Plugin {
  let outDir = 'dist';
  return {
    name: 'lakehouse-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = join(config.root, config.build.outDir);
    },
    async closeBundle() {
      const dir = join(outDir, 'assets');
      const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => COMPRESSIBLE.test(f));
      await Promise.all(
        files.map(async (f) => {
          const body = await readFile(join(dir, f));
          const wasm = f.endsWith('.wasm');
          await writeFile(join(dir, `${f}.gz`), await gzipAsync(body, { level: wasm ? 6 : 9 }));
          if (!wasm) {
            const br = await brotliAsync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } });
            await writeFile(join(dir, `${f}.br`), br);
          }
        }),
      );
    },
  };
}

/**
 * Adds to index.html (before the console's module script) an inline script that loads DuckDB-WASM's worker script
 * and wasm (the exception-handling build every current browser runs; neither is part of the page's JavaScript).
 *
 * - A page opened with a session of its tab (apps/web/src/lib/api.ts's session key) or with a login link
 *   (`/login#token=...`) is about to use the engine: DuckDB's worker starts at once (before any module script has
 *   loaded; it downloads the wasm straight into a streaming compile, with no prefetch that would read and decompress
 *   the 24 MB file from the HTTP cache once more), and the `early` entry (src/early.ts, with `<link
 *   rel="modulepreload">` for its chunks) is imported: it adopts the worker and opens the engine while the console's
 *   own JavaScript loads. The SQL editor's chunks and its draft's prewarm are preloaded too (fetched, not run).
 * - Any other visitor only prefetches the worker script and the wasm into the HTTP cache at idle priority (they may
 *   sign in next); their initial JavaScript is unchanged.
 */
function loadDuckDb(): Plugin {
  return {
    name: 'lakehouse-load-duckdb',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html, ctx) {
        const bundle = ctx.bundle ?? {};
        const asset = (re: RegExp): string => {
          const n = Object.keys(bundle).find((x) => re.test(x));
          if (!n) throw new Error(`the build has no DuckDB asset matching ${re}`);
          return `/${n}`;
        };
        const wasm = asset(/(^|\/)duckdb-eh-[^/]*\.wasm$/);
        const worker = asset(/(^|\/)duckdb-browser-eh\.worker-[^/]*\.js$/);
        const mvpWasm = asset(/(^|\/)duckdb-mvp-[^/]*\.wasm$/);
        const mvpWorker = asset(/(^|\/)duckdb-browser-mvp\.worker-[^/]*\.js$/);
        const early = Object.values(bundle).find((c) => c.type === 'chunk' && c.isEntry && c.name === 'early');
        if (!early || early.type !== 'chunk') throw new Error('the build has no `early` entry chunk (src/early.ts)');
        // The entry and every chunk it imports, transitively (preloaded in parallel rather than discovered one by one).
        const files: string[] = [];
        const visit = (name: string): void => {
          if (files.includes(`/${name}`)) return;
          files.push(`/${name}`);
          const c = bundle[name];
          if (c?.type === 'chunk') c.imports.forEach(visit);
        };
        visit(early.fileName);
        // The code a signed-in page runs next (the SQL draft's prewarm, the SQL editor): fetched, not run.
        for (const entry of ['src/features/sql/prewarm.ts', 'src/features/sql/SqlPage.tsx']) {
          const chunk = Object.values(bundle).find((c) => c.type === 'chunk' && c.facadeModuleId?.replace(/\\/g, '/').endsWith(entry));
          if (!chunk || chunk.type !== 'chunk') throw new Error(`the build has no chunk for ${entry}`);
          visit(chunk.fileName);
        }
        const script = `(function () {
  var expected = false;
  try { expected = sessionStorage.getItem('lakehouse.session') !== null; } catch (e) {}
  if (/\\/login$/.test(location.pathname) && location.hash.indexOf('token=') >= 0) expected = true;
  function link(rel, href, as) {
    var l = document.createElement('link');
    l.rel = rel;
    l.href = href;
    if (as) { l.as = as; l.crossOrigin = 'anonymous'; }
    document.head.appendChild(l);
  }
  if (!expected) { link('prefetch', ${JSON.stringify(worker)}); link('prefetch', ${JSON.stringify(wasm)}, 'fetch'); return; }
  // DuckDB's worker (src/lib/duckdb/worker-source.ts) starts now: the engine module adopts it.
  try {
    var eh = false;
    try { eh = WebAssembly.validate(new Uint8Array(${JSON.stringify(EH_TEST_MODULE_BYTES)})); } catch (e) {}
    var params = {
      channel: 'lakehouse-duckdb-net-' + Math.random().toString(36).slice(2),
      wasm: new URL(eh ? ${JSON.stringify(wasm)} : ${JSON.stringify(mvpWasm)}, location.href).href,
      script: new URL(eh ? ${JSON.stringify(worker)} : ${JSON.stringify(mvpWorker)}, location.href).href
    };
    var blobUrl = URL.createObjectURL(new Blob([${JSON.stringify(WORKER_SOURCE)}], { type: 'text/javascript' }));
    window.__lakehouseDuckDbWorker = { worker: new Worker(blobUrl, { name: JSON.stringify(params) }), params: params, blobUrl: blobUrl };
  } catch (e) {}
  var files = ${JSON.stringify(files)};
  for (var i = 1; i < files.length; i++) link('modulepreload', files[i]);
  import(files[0]).catch(function () {});
})();`;
        // Before the console's module script and stylesheet (a classic script after a stylesheet waits for it).
        const at = html.indexOf('<script type="module"');
        if (at < 0) throw new Error('index.html has no module script');
        return `${html.slice(0, at)}<script>${script}</script>\n    ${html.slice(at)}`;
      },
    },
  };
}

// The console is served by the BFF in production; `pnpm --filter @lakehouse/web dev` proxies the API to it.
export default defineConfig({
  plugins: [react(), loadDuckDb(), precompress()],
  optimizeDeps: { exclude: ['duckdb-wasm'] },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/files': 'http://127.0.0.1:8080' } },
  build: {
    outDir: 'dist',
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
    // `early`: what index.html's inline script imports to start DuckDB-WASM early (see loadDuckDb).
    rollupOptions: {
      input: { index: fileURLToPath(new URL('index.html', import.meta.url)), early: fileURLToPath(new URL('src/early.ts', import.meta.url)) },
      // hyparquet-compressors builds its codec table (instantiating snappy's wasm) when imported and does not declare
      // itself free of side effects: without this, the console would ship and run it although it reads no checkpoint.
      treeshake: { moduleSideEffects: (id: string) => !/[\\/]hyparquet-compressors[\\/]/.test(id) },
    },
  },
  worker: { format: 'es' },
});
