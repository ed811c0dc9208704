import react from '@vitejs/plugin-react';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

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
 * Adds `<link rel="prefetch">` for DuckDB-WASM's worker script and wasm (the exception-handling build every current
 * browser runs) to index.html: the browser downloads them into its HTTP cache at idle priority while the user signs in
 * and looks around, so the SQL editor's engine start only compiles. The JavaScript of the page itself stays as is.
 */
function prefetchDuckDb(): Plugin {
  return {
    name: 'lakehouse-prefetch-duckdb',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        const names = Object.keys(ctx.bundle ?? {}).filter((n) => /(^|\/)duckdb-(eh-[^/]*\.wasm|browser-eh\.worker-[^/]*\.js)$/.test(n));
        return names.sort().map((n) => ({
          tag: 'link',
          attrs: n.endsWith('.wasm') ? { rel: 'prefetch', href: `/${n}`, as: 'fetch', crossorigin: 'anonymous' } : { rel: 'prefetch', href: `/${n}` },
          injectTo: 'head' as const,
        }));
      },
    },
  };
}

// The console is served by the BFF in production; `pnpm --filter @lakehouse/web dev` proxies the API to it.
export default defineConfig({
  plugins: [react(), prefetchDuckDb(), precompress()],
  optimizeDeps: { exclude: ['duckdb-wasm'] },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/files': 'http://127.0.0.1:8080' } },
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 2000 },
  worker: { format: 'es' },
});
