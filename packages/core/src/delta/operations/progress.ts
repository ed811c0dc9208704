import { LakehouseError } from '../../errors.js';

/** Hooks a long-running maintenance operation accepts, so that a job runner can show progress and cancel it. */
export interface OperationHooks {
  /** Called with a fraction in [0, 1] (non-decreasing) and a short message; exceptions it throws are ignored. */
  onProgress?: (fraction: number, message: string) => void;
  /** Aborting stops the operation at the next safe point with CANCELLED; nothing committed is ever undone. */
  signal?: AbortSignal;
}

/** Throws CANCELLED naming `what` when the signal has been aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) {
    const reason = signal.reason instanceof Error ? signal.reason.message : signal.reason === undefined ? undefined : String(signal.reason);
    throw new LakehouseError('CANCELLED', `${what} was cancelled${reason ? `: ${reason}` : ''}`, reason ? { reason } : {});
  }
}

/** A progress reporter that clamps fractions to [0, 1], never goes backwards and swallows callback errors. */
export function progressReporter(hooks: OperationHooks): (fraction: number, message: string) => void {
  let last = 0;
  return (fraction, message) => {
    if (!hooks.onProgress) return;
    const f = Math.max(last, Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0)));
    last = f;
    try {
      hooks.onProgress(f, message);
    } catch {
      // A failing progress listener must not fail the operation.
    }
  };
}
