/**
 * The ways a test or benchmark waits: for an event it holds a promise of (`withTimeout`), `until`
 * a state holds (polled), each with a deadline and a message that says what never happened; or
 * a fixed `delay` where the time itself is the point (a sampling interval, a settle time a
 * benchmark measures around). A test that waits for something to happen waits for it, never for
 * a guessed time. Imports nothing, so browser-side tests can use it too.
 */

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface UntilOptions {
  /** How long to keep trying, in ms (5 s by default). */
  timeout?: number;
  /** Pause between tries, in ms (100 by default). */
  interval?: number;
  /** What the error says when time runs out; a function is asked only then. */
  message?: string | (() => string | Promise<string>);
}

/** What `until` resolves with: `check`'s value, never a falsy one. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Calls `check` until it returns something truthy, and resolves with that; rejects once
 * `timeout` has passed without. `check` runs at least once, and once more at the deadline.
 */
export async function until<T>(
  check: () => T | Promise<T>,
  options: UntilOptions = {},
): Promise<Truthy<T>> {
  const { timeout = 5000, interval = 100, message = 'the condition never held' } = options;
  const deadline = performance.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value as Truthy<T>;
    const left = deadline - performance.now();
    if (left <= 0) {
      const text = typeof message === 'string' ? message : await message();
      throw new Error(`${text} (waited ${timeout} ms)`);
    }
    await delay(Math.min(interval, left));
  }
}

/** `promise`, or a rejection with `message` once `timeout` ms have passed without it settling. */
export function withTimeout<T>(promise: Promise<T>, timeout: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (waited ${timeout} ms)`)), timeout);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
