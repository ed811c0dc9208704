import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCatalog } from '../src/catalog/open.js';
import { loadConfig } from '../src/config.js';
import { startServer, type RunningServer } from '../src/server.js';

// The BFF serving a built console: hashed assets precompressed by the browser's Accept-Encoding (brotli, then gzip;
// plain for range requests and clients that accept neither), cached as immutable; client-side routes answered with
// index.html, revalidated; a missing asset is a 404, never index.html. Raw HTTP (node:http), so that no client
// decompresses behind the test's back.

const SCRIPT = Buffer.from(`export const greeting = ${JSON.stringify('hello '.repeat(400))};\n`);
const WASM = Buffer.from(Array.from({ length: 20_000 }, (_, i) => i % 251));
const INDEX = '<!doctype html><title>Lakehouse</title><div id="root"></div>';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(base: string, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

let server: RunningServer;
let dirs: string[] = [];

beforeAll(async () => {
  const warehouse = mkdtempSync(join(tmpdir(), 'lh-console-wh-'));
  const dist = mkdtempSync(join(tmpdir(), 'lh-console-dist-'));
  dirs = [warehouse, dist];
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'index.html'), INDEX);
  writeFileSync(join(dist, 'assets', 'app-Ab12Cd34.js'), SCRIPT);
  writeFileSync(join(dist, 'assets', 'app-Ab12Cd34.js.gz'), gzipSync(SCRIPT));
  writeFileSync(join(dist, 'assets', 'app-Ab12Cd34.js.br'), brotliCompressSync(SCRIPT));
  // Like DuckDB's wasm: a gzip sibling only.
  writeFileSync(join(dist, 'assets', 'engine-Ef56Gh78.wasm'), WASM);
  writeFileSync(join(dist, 'assets', 'engine-Ef56Gh78.wasm.gz'), gzipSync(WASM));
  const catalog = await openCatalog({ pgliteDir: null });
  const config = loadConfig({ warehouse, port: 0, host: '127.0.0.1', databaseUrl: null, demo: false, engines: 1, webDist: dist });
  server = await startServer(config, { catalog });
});

afterAll(async () => {
  await server?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('console assets', () => {
  it('sends brotli when the browser accepts it, cached as immutable and varying on Accept-Encoding', async () => {
    const r = await get(server.url, '/assets/app-Ab12Cd34.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBe('br');
    expect(r.headers['content-type']).toMatch(/javascript/);
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(String(r.headers.vary)).toMatch(/Accept-Encoding/i);
    expect(brotliDecompressSync(r.body).equals(SCRIPT)).toBe(true);
  });

  it('answers a revalidation of an unchanged asset with 304, and HEAD with the headers alone', async () => {
    const first = await get(server.url, '/assets/app-Ab12Cd34.js', { 'accept-encoding': 'br' });
    expect(first.headers.etag).toBeTruthy();
    expect(first.headers['content-length']).toBe(String(first.body.length));
    const again = await get(server.url, '/assets/app-Ab12Cd34.js', { 'accept-encoding': 'br', 'if-none-match': String(first.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    const head = await new Promise<RawResponse>((resolve, reject) => {
      const req = request(new URL('/assets/app-Ab12Cd34.js', server.url), { method: 'HEAD', headers: { 'accept-encoding': 'br' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0) }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(head.status).toBe(200);
    expect(head.headers['content-encoding']).toBe('br');
    expect(head.headers['content-length']).toBe(String(first.body.length));
  });

  it('sends gzip when brotli is not accepted (absent or q=0), and for a file with only a gzip sibling', async () => {
    for (const accept of ['gzip, deflate', 'br;q=0, gzip']) {
      const r = await get(server.url, '/assets/app-Ab12Cd34.js', { 'accept-encoding': accept });
      expect(r.headers['content-encoding'], accept).toBe('gzip');
      expect(gunzipSync(r.body).equals(SCRIPT)).toBe(true);
    }
    const wasm = await get(server.url, '/assets/engine-Ef56Gh78.wasm', { 'accept-encoding': 'gzip, deflate, br' });
    expect(wasm.headers['content-encoding']).toBe('gzip');
    expect(wasm.headers['content-type']).toBe('application/wasm');
    expect(gunzipSync(wasm.body).equals(WASM)).toBe(true);
  });

  it('sends the file as it is to a client that accepts no encoding, and for a range request', async () => {
    const plain = await get(server.url, '/assets/app-Ab12Cd34.js', { 'accept-encoding': 'identity' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(SCRIPT)).toBe(true);
    const range = await get(server.url, '/assets/engine-Ef56Gh78.wasm', { 'accept-encoding': 'gzip', range: 'bytes=100-199' });
    expect(range.status).toBe(206);
    expect(range.headers['content-encoding']).toBeUndefined();
    expect(range.body.equals(WASM.subarray(100, 200))).toBe(true);
  });

  it('answers a missing asset (or a path out of the assets folder) with 404 and an API path with JSON, never with index.html', async () => {
    const missing = await get(server.url, '/assets/app-Zz99Zz99.js', { 'accept-encoding': 'gzip, br' });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString()).code).toBe('NOT_FOUND');
    const escape = await get(server.url, '/assets/..%2f..%2findex.html', { 'accept-encoding': 'gzip' });
    expect(escape.status).toBe(404);
    expect(escape.body.toString()).not.toContain('<title>Lakehouse</title>');
    const api = await get(server.url, '/api/no-such-route');
    expect(api.status).toBe(401);
    expect(JSON.parse(api.body.toString()).code).toBe('UNAUTHENTICATED');
  });

  it('answers client-side routes with index.html, revalidated on every load', async () => {
    for (const path of ['/', '/catalog/silver/sales', '/sql?q=SELECT%201', '/login']) {
      const r = await get(server.url, path);
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type'], path).toMatch(/text\/html/);
      expect(r.headers['cache-control'], path).toBe('no-cache');
      expect(r.body.toString(), path).toBe(INDEX);
    }
  });
});
