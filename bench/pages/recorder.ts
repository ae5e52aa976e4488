/**
 * Loaded before the widget on the benchmark host page: records the widget's events with
 * `performance.now()` timestamps (progress only as its first non-zero and last detail, so the
 * recorder cannot grow the heap it is measuring), and when the file's name first appears in the
 * widget's shadow DOM.
 */
import type { BenchRecord } from './types.js';

const record: BenchRecord = {
  events: [],
  progress: { count: 0, opened: null, first: null, last: null },
  metaAt: null,
  metaText: null,
  pickedAt: null,
};
window.__bench = record;

for (const type of ['p2p-share-link', 'p2p-share-complete', 'p2p-share-error'] as const) {
  document.addEventListener(
    type,
    (event) => {
      const detail = JSON.parse(JSON.stringify((event as CustomEvent).detail ?? null)) as Record<
        string,
        unknown
      >;
      record.events.push({ type, detail, at: performance.now() });
      if (type === 'p2p-share-error') console.warn('[p2p-share-error]', JSON.stringify(detail));
    },
    true,
  );
}

document.addEventListener(
  'p2p-share-progress',
  (event) => {
    const { bytes, total } = (event as CustomEvent<{ bytes: number; total: number }>).detail;
    const at = performance.now();
    record.progress.count += 1;
    record.progress.last = { bytes, total, at };
    record.progress.opened ??= { bytes, total, at };
    if (bytes > 0 && record.progress.first === null) record.progress.first = { bytes, total, at };
  },
  true,
);

// Metadata on screen: the first moment the file-name part holds text. Mutation callbacks run
// as microtasks right after Lit renders, so the timestamp is the render, not a polling tick.
void customElements.whenDefined('p2p-share').then(() => {
  const root = document.querySelector('p2p-share')?.shadowRoot;
  if (!root) return;
  const check = () => {
    if (record.metaAt !== null) return;
    const text = root.querySelector('[part~="file-name"]')?.textContent?.trim();
    if (text) {
      record.metaAt = performance.now();
      record.metaText = text;
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(root, { childList: true, subtree: true, characterData: true });
  check();
});
