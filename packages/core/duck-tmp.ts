import { writeFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { encodeCheckpointParquet } from './src/delta/checkpoint.js';
const bytes = await encodeCheckpointParquet([
  { protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors'], writerFeatures: ['deletionVectors', 'domainMetadata'] } },
  { metaData: { id: 'id1', format: { provider: 'parquet', options: {} }, schemaString: '{"type":"struct","fields":[]}', partitionColumns: ['p', 'q'], configuration: { 'delta.enableDeletionVectors': 'true' }, createdTime: 1 } },
  { add: { path: 'p=1/a.parquet', partitionValues: { p: '1', q: null }, size: 10, modificationTime: 20, dataChange: true, stats: '{"numRecords":3}', tags: { t: 'v' }, deletionVector: { storageType: 'u', pathOrInlineDv: 'ab^-aqEH.-t@S}K{vb[*k^', offset: 1, sizeInBytes: 36, cardinality: 2 } } },
  { add: { path: 'b.parquet', partitionValues: {}, size: 11, modificationTime: 21, dataChange: false } },
  { remove: { path: 'c.parquet', deletionTimestamp: 5, dataChange: true, extendedFileMetadata: true, partitionValues: { p: 'ü' }, size: 4 } },
  { txn: { appId: 'app', version: 3, lastUpdated: 9 } },
  { domainMetadata: { domain: 'd', configuration: '{}', removed: false } },
]);
writeFileSync('/tmp/cp/small.parquet', bytes);
const inst = await DuckDBInstance.create(':memory:');
const conn = await inst.connect();
for (const sql of [
  "select typeof(add.partitionValues) t, add.partitionValues pv, add.partitionValues['p'] p, add.size, add.deletionVector.cardinality from '/tmp/cp/small.parquet' where add is not null",
  "select protocol.readerFeatures, metaData.partitionColumns, metaData.configuration, remove.partitionValues, txn.version, domainMetadata.domain from '/tmp/cp/small.parquet'",
  "select name, type, converted_type, logical_type, repetition_type from parquet_schema('/tmp/cp/small.parquet') where name in ('partitionValues','key_value','key','value','partitionColumns','list','element')",
]) {
  const r = await conn.runAndReadAll(sql);
  console.log(JSON.stringify(r.getRowObjectsJson()));
}
