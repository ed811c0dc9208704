import { parquetReadObjects, parquetMetadata } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import fs from 'fs'
const buf = fs.readFileSync('/tmp/cp/big.parquet')
const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
const md = parquetMetadata(ab)
console.log(md.row_groups.length, md.row_groups[0].columns.map(c => c.meta_data.path_in_schema.join('.') + ':' + c.meta_data.encodings.join('/') + ':' + c.meta_data.total_compressed_size).slice(0, 30))
let t = performance.now()
const rows = await parquetReadObjects({ file: ab, compressors })
console.log('all', performance.now() - t)
t = performance.now()
await parquetReadObjects({ file: ab, compressors, columns: ['add'] })
console.log('add only', performance.now() - t)
