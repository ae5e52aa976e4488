/** Small helpers for the element tests: shadow queries, visible text, event recording. */
import type { P2PShareEventDetails } from '../../src/events.js';
import type { P2PShareElement } from '../../src/p2p-share.js';

export function $<T extends Element = HTMLElement>(el: P2PShareElement, selector: string): T {
  const found = el.shadowRoot!.querySelector<T>(selector);
  if (!found) throw new Error(`no ${selector} in <p2p-share>: ${text(el)}`);
  return found;
}

export function maybe<T extends Element = HTMLElement>(
  el: P2PShareElement,
  selector: string,
): T | null {
  return el.shadowRoot!.querySelector<T>(selector);
}

/** The rendered text, whitespace collapsed, without the visually hidden live region. */
export function text(el: P2PShareElement): string {
  const root = el.shadowRoot!.querySelector('.base')!.cloneNode(true) as HTMLElement;
  root.querySelector('[role="status"]')?.remove();
  return (root.textContent ?? '').replace(/\s+/g, ' ').trim();
}

export function status(el: P2PShareElement): string {
  return $(el, '[role="status"]').textContent!.trim();
}

/** A file name as sentences hold it: between the isolates that keep its direction to itself. */
export function isolated(name: string): string {
  return `\u2068${name}\u2069`;
}

export function button(el: P2PShareElement, label: string): HTMLButtonElement {
  const all = [...el.shadowRoot!.querySelectorAll('button')];
  const found = all.find((b) => b.textContent!.trim() === label);
  if (!found) throw new Error(`no "${label}" button in <p2p-share>: ${text(el)}`);
  return found;
}

/** Records every `p2p-share-*` event the element fires, in order, from the document. */
export function record(target: EventTarget = document) {
  const names = Object.keys({
    'p2p-share-link': 0,
    'p2p-share-progress': 0,
    'p2p-share-complete': 0,
    'p2p-share-error': 0,
  } satisfies Record<keyof P2PShareEventDetails, 0>) as (keyof P2PShareEventDetails)[];
  const events: { type: keyof P2PShareEventDetails; detail: unknown; composed: boolean }[] = [];
  const listener = (event: Event) => {
    events.push({
      type: event.type as keyof P2PShareEventDetails,
      detail: (event as CustomEvent).detail,
      composed: event.composed,
    });
  };
  for (const name of names) target.addEventListener(name, listener);
  return {
    events,
    of<K extends keyof P2PShareEventDetails>(type: K): P2PShareEventDetails[K][] {
      return events.filter((e) => e.type === type).map((e) => e.detail as P2PShareEventDetails[K]);
    },
    stop() {
      for (const name of names) target.removeEventListener(name, listener);
    },
  };
}

export function makeFile(name: string, content: string | Uint8Array, type = ''): File {
  return new File([content as BlobPart], name, { type });
}

/** Lets promise callbacks and Lit's update run. */
export async function settle(el: P2PShareElement): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    await el.updateComplete;
  }
}
