import { PARQUET_FOOTER_BLOCK, footerBlockStart, parquetFooterStart } from '@lakehouse/contracts';
import { MemoryStorage } from '@lakehouse/core';
import { describe, expect, it } from 'vitest';
import { planFooter } from '../src/services/tables.js';

/** A file of `size` bytes ending like Parquet: a footer of `footerLength` bytes, its length, then `PAR1`. */
function parquetShaped(size: number, footerLength: number): Uint8Array {
  const bytes = new Uint8Array(size).map((_, i) => (i * 31 + 7) % 251);
  new DataView(bytes.buffer).setUint32(size - 8, footerLength, true);
  bytes.set([0x50, 0x41, 0x52, 0x31], size - 4);
  return bytes;
}

async function footerOf(data: Uint8Array) {
  const storage = new MemoryStorage();
  await storage.put('t/part-0.parquet', data);
  const footer = await planFooter(storage, 't/part-0.parquet', data.byteLength);
  if (!footer) throw new Error('no footer');
  return { ...footer, bytes: new Uint8Array(Buffer.from(footer.base64, 'base64')) };
}

describe('the footer a scan plan brings for a file', () => {
  it('is the last block when the footer starts in it', async () => {
    const data = parquetShaped(40_000, 2_000);
    const f = await footerOf(data);
    expect(f.start).toBe(footerBlockStart(40_000));
    expect(f.bytes).toEqual(data.subarray(f.start));
  });

  it('starts at the block holding the footer\'s first byte when the footer crosses into the last block', async () => {
    // The last block starts at 32768, the footer at 30760: in the block before.
    const size = 2 * PARQUET_FOOTER_BLOCK + 1_000;
    const data = parquetShaped(size, 3_000);
    const footerStart = size - 8 - 3_000;
    expect(footerStart).toBeLessThan(footerBlockStart(size));
    const f = await footerOf(data);
    expect(f.start).toBe(PARQUET_FOOTER_BLOCK);
    expect(f.bytes).toEqual(data.subarray(PARQUET_FOOTER_BLOCK));
    expect(parquetFooterStart(f.bytes, size)).toBe(footerStart);
  });

  it('is the last block when the footer is larger than a plan brings, or the file is not Parquet', async () => {
    const size = 10 * PARQUET_FOOTER_BLOCK + 100;
    const big = await footerOf(parquetShaped(size, 6 * PARQUET_FOOTER_BLOCK));
    expect(big.start).toBe(footerBlockStart(size));
    const notParquet = parquetShaped(size, 3_000);
    notParquet.set([0, 0, 0, 0], size - 4);
    expect((await footerOf(notParquet)).start).toBe(footerBlockStart(size));
  });

  it('is null for an empty or missing file (the browser reads those itself)', async () => {
    const storage = new MemoryStorage();
    expect(await planFooter(storage, 'missing.parquet', 1_000)).toBeNull();
    expect(await planFooter(storage, 'missing.parquet', 0)).toBeNull();
  });
});
