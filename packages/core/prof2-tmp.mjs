import { parquetReadObjects } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import fs from 'fs'
const buf = fs.readFileSync('/tmp/cp/big.parquet')
const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
let t = performance.now()
await parquetReadObjects({ file: ab, compressors, columns: ['add'] })
console.log('add only', performance.now() - t)
