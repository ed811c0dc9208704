import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console is served by the BFF in production; `pnpm --filter @lakehouse/web dev` proxies the API to it.
export default defineConfig({
  plugins: [react()],
  optimizeDeps: { exclude: ['duckdb-wasm'] },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/files': 'http://127.0.0.1:8080' } },
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 2000 },
  worker: { format: 'es' },
});
