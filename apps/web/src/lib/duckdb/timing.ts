// Phases of the DuckDB work, recorded as performance measures named `lakehouse:<phase>` (visible in the browser's
// performance panel, and read by the browser benchmark): engine start and its parts, plan fetches, view creation, and
// the execution of queries.

/** Records `lakehouse:<phase>` from `start` (a `performance.now()` reading) to now; never throws. */
export function measure(phase: string, start: number, detail?: Record<string, unknown>): void {
  try {
    performance.measure(`lakehouse:${phase}`, { start, end: performance.now(), detail });
  } catch {
    // No user timing here (old browser, test environment): the figures are optional.
  }
}
