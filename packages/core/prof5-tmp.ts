import { readFileSync } from 'node:fs';
import { decodeCheckpointParquet } from './src/delta/checkpoint.js';
const bytes = new Uint8Array(readFileSync('/tmp/cp/big.parquet'));
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  const acts = await decodeCheckpointParquet(bytes);
  console.log('decode', Math.round(performance.now() - t), acts.length);
}
