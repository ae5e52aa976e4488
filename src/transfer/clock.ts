/**
 * The time the transfer layer reads and waits on. Engine classes take a Clock so their tests
 * move time themselves instead of waiting seconds of real time.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /**
   * Resolves once `ms` milliseconds of this clock have passed, or at once when `signal` aborts
   * (the sleeper checks why it woke); an aborted sleep holds nothing.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    }),
};
