/** Runs `work` when the browser is idle (at the latest after `timeoutMs`); returns a function that cancels it. */
export function whenIdle(work: () => void, timeoutMs: number): () => void {
  if (typeof requestIdleCallback === 'function') {
    const id = requestIdleCallback(work, { timeout: timeoutMs });
    return () => cancelIdleCallback(id);
  }
  const id = setTimeout(work, Math.min(timeoutMs, 200));
  return () => clearTimeout(id);
}
