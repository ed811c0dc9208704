// Formatting of sizes, counts, times and values for display, and the order of names in lists.
//
// The console speaks en-US, and formats without `Intl`: a page's first `Intl` object (or `localeCompare`) sets up ICU,
// tens of milliseconds of the main thread that every cold start of the catalog page paid before its first render.
// The results are those of `Intl.NumberFormat('en-US')` and `Intl.RelativeTimeFormat('en', { numeric: 'auto' })`
// (test/units.test.ts compares them).

/**
 * `|n|` (finite) in units of 10^-digits, rounded half away from zero on its decimal form as Intl rounds (1.15 → 12
 * tenths, not toFixed's 11).
 */
function roundedUnits(n: number, digits: number): bigint {
  const abs = Math.abs(n);
  if (abs >= 1e21) return BigInt(abs) * 10n ** BigInt(digits);
  // Exact to 6 more digits than kept: binary noise (1.15 is 1.1499999...) cannot decide the rounding.
  const [int, frac = ''] = abs.toFixed(digits + 6).split('.') as [string, string?];
  return BigInt(int + frac.slice(0, digits)) + (frac.charCodeAt(digits) >= 53 ? 1n : 0n);
}

/**
 * `n` rounded to at most `digits` fraction digits (roundedUnits), with en-US grouping: `1234567.891` → `1,234,567.891`
 * (digits 3). Integer parts shorter than `groupFrom` digits stay ungrouped (the compact notation writes `9007T`).
 * No `-0`.
 */
function grouped(n: number, digits: number, groupFrom = 4): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '∞' : '-∞';
  const units = roundedUnits(n, digits);
  const text = units.toString().padStart(digits + 1, '0');
  const digitsOfInt = text.slice(0, text.length - digits);
  const int = digitsOfInt.length < groupFrom ? digitsOfInt : digitsOfInt.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = text.slice(text.length - digits).replace(/0+$/, '');
  return `${n < 0 && units > 0n ? '-' : ''}${int}${fraction ? `.${fraction}` : ''}`;
}

/** `1,234,567`; an em dash for null. */
export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : grouped(n, 3);
}

/** Units of the compact notation, by power of 1000. */
const COMPACT_UNITS = ['', 'K', 'M', 'B', 'T'];

/** `1.2M`; an em dash for null. */
export function formatCompact(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (!Number.isFinite(n)) return grouped(n, 1);
  let unit = 0;
  let v = Math.abs(n);
  // The next unit once the value rounds to 1000 of this one (999,950 is 1M, not 1,000K).
  while (unit < COMPACT_UNITS.length - 1 && roundedUnits(v, 1) >= 10_000n) {
    v /= 1000;
    unit++;
  }
  return `${grouped(Math.sign(n) * v, 1, 5)}${COMPACT_UNITS[unit]}`;
}

/** Names in list order: by UTF-16 code units (table, column and property names are ASCII identifiers). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Bytes in binary units: `512 B`, `1.5 KiB`, `12.3 MiB`. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** Local date and time, `2024-06-05 14:01:37`. */
export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Time units of `formatRelative`: how many make the next, and the words for -1, 0 and 1 of them. */
const RELATIVE_STEPS: { unit: string; size: number; words: [string, string, string] }[] = [
  { unit: 'second', size: 60, words: ['', 'now', ''] },
  { unit: 'minute', size: 60, words: ['', 'this minute', ''] },
  { unit: 'hour', size: 24, words: ['', 'this hour', ''] },
  { unit: 'day', size: 30, words: ['yesterday', 'today', 'tomorrow'] },
  { unit: 'month', size: 12, words: ['last month', 'this month', 'next month'] },
  { unit: 'year', size: Infinity, words: ['last year', 'this year', 'next year'] },
];

/** `5 minutes ago`, `yesterday`, `in 2 hours`, relative to `now`. */
export function formatRelative(iso: string, now: number = Date.now()): string {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  let v = Math.round((t - now) / 1000);
  for (const { unit, size, words } of RELATIVE_STEPS) {
    if (Math.abs(v) < size) {
      const n = Math.round(v);
      const word = n >= -1 && n <= 1 ? words[n + 1] : '';
      if (word) return word;
      const amount = `${grouped(Math.abs(n), 0)} ${unit}${Math.abs(n) === 1 ? '' : 's'}`;
      return n < 0 ? `${amount} ago` : `in ${amount}`;
    }
    v /= size;
  }
  return iso;
}

/** A statistic value (min/max) as text; objects as JSON. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}
