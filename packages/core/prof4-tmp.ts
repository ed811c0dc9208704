import { readFileSync } from 'node:fs';
import { decodeCheckpointParquet, encodeCheckpointParquet } from './src/delta/checkpoint.js';
const mode = process.argv[2];
const bytes = new Uint8Array(readFileSync('/tmp/cp/big.parquet'));
let t = performance.now();
const acts = await decodeCheckpointParquet(bytes);
console.log('decode', performance.now() - t);
if (mode === 'enc') {
  t = performance.now();
  await encodeCheckpointParquet(acts);
  console.log('encode', performance.now() - t);
}
