import { parquetReadObjects } from 'hyparquet'
import { parquetWriteBuffer } from 'hyparquet-writer'
import { compressors } from 'hyparquet-compressors'
import fs from 'fs'
const buf = fs.readFileSync('/tmp/cp/big.parquet')
const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
const rows = await parquetReadObjects({ file: ab, compressors, columns: ['add'] })
const { parquetMetadata } = await import('hyparquet')
const md = parquetMetadata(ab)
// schema for add only
const s = md.schema
const addIdx = s.findIndex(e => e.name === 'add')
let cnt = 1, i = addIdx, need = 1
function size(i){ let n=1; for (let c=0;c<(s[i].num_children||0);c++) n+=size(i+n); return n }
const sub = s.slice(addIdx, addIdx + size(addIdx))
const schema = [{ name: 'root', num_children: 1 }, ...sub]
const data = rows.map(r => r.add)
let t = performance.now()
parquetWriteBuffer({ columnData: [{ name: 'add', data }], schema, statistics: false, rowGroupSize: 100000 })
console.log('write add', performance.now() - t)
