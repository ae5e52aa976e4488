/** Work that can wait for a quiet moment of the page. */

/** Runs `task` when the page is idle (soon, where the browser cannot say). */
export function whenIdle(task: () => void): void {
  if (typeof requestIdleCallback === 'function') requestIdleCallback(task, { timeout: 2000 });
  else setTimeout(task, 50);
}
