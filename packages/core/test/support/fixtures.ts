import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Folder of the shared golden Delta tables (read in place, never copied). */
export const FIXTURES_DIR = `${process.env.LAKEHOUSE_SHARED_DIR ?? fileURLToPath(new URL('../../../../../shared', import.meta.url))}/delta-tables/`;

/** One entry of expected.json. */
export interface ExpectedTable {
  version: number;
  rows: number | null;
  rowsByVersion?: Record<string, number>;
  columns: string[];
  partitionColumns: string[];
  protocol: { minReaderVersion: number; minWriterVersion: number; readerFeatures?: string[]; writerFeatures?: string[] };
  tableRoot?: string;
  mustRefuse: boolean;
  reason?: string;
}

/** expected.json of the golden tables. */
export const EXPECTED: Record<string, ExpectedTable> = JSON.parse(readFileSync(FIXTURES_DIR + 'expected.json', 'utf8'));

/** Absolute folder of a golden table's root. */
export function fixtureRoot(name: string): string {
  return FIXTURES_DIR + (EXPECTED[name].tableRoot ?? name);
}
