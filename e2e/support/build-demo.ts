// Builds the demo warehouse at a small scale: `node --import tsx e2e/support/build-demo.ts <dir> <scale>`.
// Run as a child process by the global setup (the BFF's demo generator needs tsx and DuckDB for Node, which the
// Playwright runner does not load). A server started later on the same folder finds every demo commit in place and
// builds nothing.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [dir, scaleText] = process.argv.slice(2);
if (!dir || !scaleText) {
  console.error('usage: build-demo.ts <warehouse dir> <scale>');
  process.exit(2);
}
const demoModule = pathToFileURL(resolve(import.meta.dirname, '../../apps/bff/src/demo/demo.ts')).href;
const demo = (await import(demoModule)) as {
  ensureDemoWarehouse?: (warehouse: string, log: (line: string) => void, options?: { scale?: number }) => Promise<string[]>;
};
if (typeof demo.ensureDemoWarehouse !== 'function') {
  console.error(`${demoModule} no longer exports ensureDemoWarehouse(warehouse, log, { scale })`);
  process.exit(3);
}
await demo.ensureDemoWarehouse(dir, (line) => console.log(line), { scale: Number(scaleText) });
