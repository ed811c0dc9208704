import { formatBytes, formatCount } from '../../components/format.js';

/** A byte formatter in the unit of `max` with enough decimals that bins `step` bytes apart get different labels. */
function preciseBytes(max: number, step: number): (n: number) => string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (max >= 1024 ** (i + 1) && i < units.length - 1) i++;
  const decimals = Math.max(0, Math.min(3, Math.ceil(-Math.log10(step / 1024 ** i))));
  return (n) => `${(n / 1024 ** i).toFixed(i === 0 ? 0 : decimals)} ${units[i]}`;
}

/** One bar of the file-size histogram: files with `from <= size < to` (the last bin includes its upper end). */
export interface SizeBin {
  from: number;
  to: number;
  label: string;
  files: number;
}

/**
 * Bins file sizes for a histogram: power-of-two bins when the sizes span more than a factor 8, else up to 10 equal
 * bins between the smallest and the largest. Every size lands in exactly one bin.
 */
export function binSizes(sizes: readonly number[]): SizeBin[] {
  if (sizes.length === 0) return [];
  let min = Infinity;
  let max = -Infinity;
  for (const s of sizes) {
    if (s < min) min = s;
    if (s > max) max = s;
  }
  if (min === max) return [{ from: min, to: max, label: formatBytes(min), files: sizes.length }];
  if (min > 0 && max / min > 8) {
    const lo = Math.floor(Math.log2(min));
    const hi = Math.floor(Math.log2(max));
    const bins: SizeBin[] = [];
    for (let k = lo; k <= hi; k++) bins.push({ from: 2 ** k, to: 2 ** (k + 1), label: `${formatBytes(2 ** k)}–${formatBytes(2 ** (k + 1))}`, files: 0 });
    for (const s of sizes) bins[Math.min(Math.floor(Math.log2(s)) - lo, bins.length - 1)].files++;
    return bins;
  }
  // Sizes are whole bytes: no bin is narrower than one byte.
  const n = Math.min(10, Math.max(1, Math.ceil(Math.sqrt(sizes.length))), Math.max(1, Math.floor(max - min)));
  const width = (max - min) / n;
  const fmt = preciseBytes(max, width);
  const bins: SizeBin[] = Array.from({ length: n }, (_, i) => {
    const from = min + i * width;
    const to = i === n - 1 ? max : min + (i + 1) * width;
    return { from, to, label: `${fmt(from)}–${fmt(to)}`, files: 0 };
  });
  for (const s of sizes) bins[Math.min(Math.floor((s - min) / width), n - 1)].files++;
  // Bins narrower than the rounding of their unit get exact byte labels, so no two bars read the same.
  if (new Set(bins.map((b) => b.label)).size < bins.length) {
    for (const b of bins) b.label = `${formatCount(Math.ceil(b.from))}–${formatCount(Math.floor(b.to))} B`;
  }
  return bins;
}
