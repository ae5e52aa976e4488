/**
 * What a person sees and presses in the widget: its visible text, its buttons (found in its
 * shadow tree by text or label, as a person finds them) and the errors it shows.
 */
import assert from 'node:assert/strict';
import type { ElementHandle, Page } from 'puppeteer-core';
import { until } from '../../testing/wait.js';
import { waitForEvent, type P2PEventRecord } from './recorder.js';

/*
 * In-page helpers are plain JavaScript strings: tsx compiles this file with esbuild's keepNames,
 * which wraps named inner functions in a `__name()` call that does not exist in the page.
 */

/** Walks the widget's shadow tree (nested shadow roots and slots included). */
const WALK_JS = `function walkWidget(visit) {
  const walk = function (root) {
    for (const node of Array.from(root.childNodes)) {
      visit(node);
      if (node instanceof Element) {
        if (node.shadowRoot) walk(node.shadowRoot);
        if (node instanceof HTMLSlotElement) for (const n of node.assignedNodes()) walk(n);
        walk(node);
      }
    }
  };
  const host = document.querySelector('p2p-share');
  if (host && host.shadowRoot) walk(host.shadowRoot);
}`;

const VISIBLE_TEXT_JS = `(function () {
  ${WALK_JS}
  const parts = [];
  walkWidget(function (node) {
    if (node.nodeType !== Node.TEXT_NODE) return;
    const parent = node.parentElement;
    const text = (node.textContent || '').trim();
    if (parent && text && parent.checkVisibility()) parts.push(text);
  });
  return parts.join(' ').replace(/\\s+/g, ' ');
})()`;

const FIND_BUTTON_JS = (label: RegExp) => `(function () {
  ${WALK_JS}
  const re = new RegExp(${JSON.stringify(label.source)}, ${JSON.stringify(label.flags)});
  let found = null;
  walkWidget(function (el) {
    if (found || !(el instanceof HTMLElement)) return;
    if (!(el instanceof HTMLButtonElement) && el.getAttribute('role') !== 'button') return;
    const name = (el.getAttribute('aria-label') || '') + ' ' + (el.textContent || '');
    if (el.disabled || !el.checkVisibility() || !re.test(name)) return;
    found = el;
  });
  return found;
})()`;

/** The widget's visible text: every rendered text node in its shadow tree, in order. */
export async function visibleText(page: Page): Promise<string> {
  return page.evaluate(VISIBLE_TEXT_JS) as Promise<string>;
}

/** Waits until the widget's visible text contains `text`; resolves with that text. */
export async function waitForText(
  page: Page,
  text: string | RegExp,
  timeout = 15_000,
): Promise<string> {
  let seen = '';
  return until(
    async () => {
      seen = await visibleText(page);
      return (typeof text === 'string' ? seen.includes(text) : text.test(seen)) && seen;
    },
    {
      timeout,
      message: () => `widget never showed ${String(text)}; it shows: ${JSON.stringify(seen)}`,
    },
  );
}

/** The first visible, enabled button in the widget's shadow tree whose text or label matches. */
async function findButton(page: Page, label: RegExp): Promise<ElementHandle<HTMLElement> | null> {
  const handle = await page.evaluateHandle(FIND_BUTTON_JS(label));
  const el = handle.asElement() as ElementHandle<HTMLElement> | null;
  if (!el) await handle.dispose();
  return el;
}

export async function waitForButton(
  page: Page,
  label: RegExp,
  timeout = 15_000,
): Promise<ElementHandle<HTMLElement>> {
  return until(() => findButton(page, label), {
    timeout,
    message: async () =>
      `widget offers no button matching ${String(label)}; it shows: ${JSON.stringify(await visibleText(page))}`,
  });
}

export async function clickButton(page: Page, label: RegExp, timeout = 15_000): Promise<void> {
  const button = await waitForButton(page, label, timeout);
  await button.click();
  await button.dispose();
}

/**
 * Waits for a `p2p-share-error` at `since` or later, then for its message to be visible in the
 * widget; returns the event.
 */
export async function waitForShownError(
  page: Page,
  options: { since?: number; timeout?: number } = {},
): Promise<P2PEventRecord> {
  const error = await waitForEvent(page, 'p2p-share-error', options);
  const message = error.detail.message;
  assert.equal(typeof message, 'string', 'p2p-share-error carries detail.message');
  assert.ok((message as string).length > 0, 'the error message is not empty');
  await waitForText(page, message as string, 10_000);
  return error;
}
