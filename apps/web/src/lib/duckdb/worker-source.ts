// The source of DuckDB-WASM's worker as the console starts it: two preludes, then DuckDB's own worker script. It is
// one constant text (what differs per start comes in the worker's name), so that index.html's inline script can start
// the same worker (vite.config.ts embeds this text) before any of the console's JavaScript has loaded, and the engine
// module (engine.ts) adopts it, or starts its own.

/** The test module DuckDB-WASM's bundle selection uses to detect WebAssembly exception handling (the `eh` build). */
export const EH_TEST_MODULE_BYTES: readonly number[] = [0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 8, 1, 6, 0, 6, 64, 25, 11, 11];

/** What a worker is told in its name (JSON): its counters' BroadcastChannel, the wasm and DuckDB's worker script. */
export interface WorkerParams {
  channel: string;
  wasm: string;
  script: string;
}

// Starts compiling DuckDB's wasm (streaming; from the HTTP cache when index.html prefetched it) as soon as the worker
// exists, before DuckDB's own worker script has loaded and before the page has loaded DuckDB's JavaScript API and sent
// the INSTANTIATE message; DuckDB's instantiateStreaming call then instantiates the compiled module (its own fetch of
// the same file gets an empty answer). When the early compile fails, DuckDB's instantiation fetches and compiles the
// file itself.
const COMPILE_PRELUDE = `
(() => {
  if (typeof WebAssembly.compileStreaming !== 'function') return;
  let early;
  try {
    early = WebAssembly.compileStreaming(fetch(WASM_URL, { credentials: 'same-origin' }));
  } catch {
    return;
  }
  early.catch(() => undefined);
  // DuckDB's own download of the wasm (another read and decompression of 24 MB, piped through a progress stream)
  // gets an empty body while the early compile is on; its instantiateStreaming below ignores the source.
  let compiling = true;
  early.then(() => undefined, () => { compiling = false; });
  const fetchFn = self.fetch;
  self.fetch = function (input) {
    const url = typeof input === 'string' ? input : input && input.url;
    if (compiling && url === WASM_URL) return Promise.resolve(new Response(null, { status: 200 }));
    return fetchFn.apply(this, arguments);
  };
  const instantiateStreaming = WebAssembly.instantiateStreaming;
  WebAssembly.instantiateStreaming = async function (source, imports) {
    const module = await early.catch(() => null);
    self.fetch = fetchFn;
    if (!module) return instantiateStreaming.call(WebAssembly, fetchFn(WASM_URL, { credentials: 'same-origin' }), imports);
    Promise.resolve(source).then((r) => r && r.body && r.body.cancel(), () => undefined).catch(() => undefined);
    const instance = await WebAssembly.instantiate(module, imports);
    return { module, instance };
  };
})();
`;

// Runs in the worker before DuckDB's own script: counts XHR traffic per file and answers snapshot requests on a
// BroadcastChannel (DuckDB owns the worker's message port: the page's `{ __lh: 'sizes' }` messages are taken off it
// before DuckDB's handler sees them, in order with DuckDB's own messages).
const COUNTER_PRELUDE = `
(() => {
  const channel = new BroadcastChannel(CHANNEL);
  const totals = { requests: 0, bytes: 0, networkBytes: 0, files: {} };
  const keyOf = (url) => { try { return new URL(url, self.location.href).pathname; } catch { return String(url); } };
  const idOf = (url) => { try { const u = new URL(url, self.location.href); return u.origin + u.pathname; } catch { return String(url); } };
  const fileOf = (key) => totals.files[key] || (totals.files[key] = { requests: 0, bytes: 0, networkBytes: 0 });

  // Sizes of immutable table data files by origin + path, and byte ranges of them already received.
  const sizes = new Map();
  const ranges = new Map();
  const order = [];
  let held = 0;
  const MAX_RANGE = 1 << 20;
  const BUDGET = 64 << 20;
  const lookup = (id, start, end) => {
    for (const s of ranges.get(id) || []) {
      if (s.start <= start && end < s.start + s.bytes.byteLength) return s.bytes.slice(start - s.start, end - s.start + 1);
    }
    return null;
  };
  const remember = (id, start, buf) => {
    if (!(buf instanceof ArrayBuffer) || buf.byteLength === 0 || buf.byteLength > MAX_RANGE) return;
    const seg = { start, bytes: buf.slice(0) };
    let list = ranges.get(id);
    if (!list) ranges.set(id, (list = []));
    list.push(seg);
    order.push([id, seg]);
    held += buf.byteLength;
    while (held > BUDGET && order.length > 0) {
      const [oldId, old] = order.shift();
      const l = ranges.get(oldId) || [];
      const i = l.indexOf(old);
      if (i >= 0) l.splice(i, 1);
      if (l.length === 0) ranges.delete(oldId);
      held -= old.bytes.byteLength;
    }
  };
  self.addEventListener('message', (e) => {
    if (!e.data || (e.data.__lh !== 'sizes' && e.data.__lh !== 'ranges')) return;
    e.stopImmediatePropagation();
    if (e.data.__lh === 'sizes') {
      for (const [url, size] of e.data.files) sizes.set(idOf(url), size);
      return;
    }
    // Byte ranges the page fetched ahead (Parquet footers, in parallel): requests and network bytes of their files.
    for (const r of e.data.ranges) {
      remember(idOf(r.url), r.start, r.bytes);
      const f = fileOf(keyOf(r.url));
      if (r.request !== false) { f.requests++; totals.requests++; }
      f.networkBytes += r.bytes.byteLength; totals.networkBytes += r.bytes.byteLength;
    }
  });

  // A synchronous request answered without the network: the properties DuckDB reads, set on the instance.
  const answer = (xhr, status, length, body) => {
    const headers = { 'content-length': String(length) };
    const value = (v) => ({ value: v, configurable: true });
    Object.defineProperties(xhr, {
      readyState: value(4),
      status: value(status),
      statusText: value(status === 206 ? 'Partial Content' : 'OK'),
      response: value(body),
      getResponseHeader: value((name) => headers[String(name).toLowerCase()] ?? null),
    });
  };

  const XHR = self.XMLHttpRequest;
  const open = XHR.prototype.open;
  const send = XHR.prototype.send;
  const setRequestHeader = XHR.prototype.setRequestHeader;
  XHR.prototype.open = function (method, url, async) {
    this.__lh = { method: String(method).toUpperCase(), url: String(url), sync: async === false, range: null };
    return open.apply(this, arguments);
  };
  XHR.prototype.setRequestHeader = function (name, value) {
    if (this.__lh && String(name).toLowerCase() === 'range') this.__lh.range = String(value);
    return setRequestHeader.apply(this, arguments);
  };
  XHR.prototype.send = function () {
    const xhr = this;
    const req = xhr.__lh || { method: 'GET', url: '', sync: false, range: null };
    const id = idOf(req.url);
    const size = req.sync ? sizes.get(id) : undefined;
    const m = req.range ? /^bytes=(\\d+)-(\\d*)$/.exec(req.range) : null;
    if (size !== undefined) {
      if (req.method === 'HEAD') {
        // DuckDB checks that the file exists (200 or 206) and takes its size from Content-Length (206 for a range).
        answer(xhr, req.range ? 206 : 200, size, null);
        return;
      }
      if (req.method === 'GET' && m && m[2] !== '') {
        const hit = lookup(id, Number(m[1]), Math.min(Number(m[2]), size - 1));
        if (hit) {
          answer(xhr, 206, hit.byteLength, hit);
          const f = fileOf(keyOf(req.url));
          f.bytes += hit.byteLength;
          totals.bytes += hit.byteLength;
          return;
        }
      }
    }
    let counted = false;
    const count = () => {
      if (counted || xhr.readyState !== 4) return;
      counted = true;
      let n = 0;
      try {
        const r = xhr.response;
        if (r instanceof ArrayBuffer) n = r.byteLength; else if (typeof r === 'string') n = r.length; else if (r && r.size) n = r.size;
      } catch {}
      const f = fileOf(keyOf(req.url));
      f.requests++; f.bytes += n; totals.requests++; totals.bytes += n;
      if (size !== undefined && req.method === 'GET' && m && xhr.status === 206) {
        try { remember(id, Number(m[1]), xhr.response); } catch {}
      }
    };
    xhr.addEventListener('loadend', count);
    try { return send.apply(this, arguments); } finally { count(); }
  };
  const takeTiming = (entries) => {
    for (const e of entries) {
      if (e.initiatorType !== 'xmlhttprequest' && e.initiatorType !== 'fetch') continue;
      const t = e.transferSize || 0;
      fileOf(keyOf(e.name)).networkBytes += t;
      totals.networkBytes += t;
    }
  };
  let observer = null;
  try {
    observer = new PerformanceObserver((list) => takeTiming(list.getEntries()));
    observer.observe({ type: 'resource', buffered: true });
  } catch {}
  channel.onmessage = (e) => {
    if (!e.data || e.data.type !== 'snapshot') return;
    if (observer) takeTiming(observer.takeRecords());
    try { performance.clearResourceTimings(); } catch {}
    channel.postMessage({ type: 'counters', id: e.data.id, totals });
  };
})();
`;

/**
 * The whole worker source: reads its WorkerParams from `self.name`, runs the preludes, then imports DuckDB's worker
 * script. Start it as `new Worker(blobUrlOf(WORKER_SOURCE), { name: JSON.stringify(params) })`.
 */
export const WORKER_SOURCE = [
  'const { channel: CHANNEL, wasm: WASM_URL, script: DUCKDB_WORKER_SCRIPT } = JSON.parse(self.name);',
  COMPILE_PRELUDE,
  COUNTER_PRELUDE,
  'importScripts(DUCKDB_WORKER_SCRIPT);',
  '',
].join('\n');
