import { parquetReadObjects, parquetMetadata, parquetSchema } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import fs from 'fs'
const f = process.argv[2]
const buf = fs.readFileSync(f)
const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
const md = parquetMetadata(ab)
console.log(md.created_by, md.num_rows, md.row_groups.length, md.row_groups[0]?.columns[0]?.meta_data?.codec)
for (const e of md.schema) console.log(JSON.stringify(e, (k,v)=>typeof v==='bigint'?String(v):v))
const rows = await parquetReadObjects({ file: ab, compressors })
for (const r of rows.slice(0, +process.argv[3] || 6)) console.log(JSON.stringify(r, (k,v)=>typeof v==='bigint'?'BIG'+String(v):v instanceof Date ? 'DATE'+v.toISOString(): v))
