/**
 * The e2e kit itself and the embedding setup: the service answers and serves the widget bundle
 * cross-origin, and both browsers load a host page on another origin that defines the element.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrowserKind } from '../testing/browsers.js';
import { useE2E } from './lib/world.js';

const env = useE2E();

test('the service answers /healthz and serves the bundle to another origin with CORS', async () => {
  const health = await fetch(new URL('healthz', env.serviceUrl));
  assert.equal(health.status, 200);

  // The entry and every chunk it imports, fetched as the host page's browser would.
  const queue = [new URL('p2p-share.js', env.serviceUrl)];
  const seen = new Set<string>();
  for (let url = queue.shift(); url; url = queue.shift()) {
    if (seen.has(url.href)) continue;
    seen.add(url.href);
    const res = await fetch(url, { headers: { origin: env.hostOrigin } });
    assert.equal(res.status, 200, url.href);
    assert.match(res.headers.get('content-type') ?? '', /javascript/, url.href);
    const allowed = res.headers.get('access-control-allow-origin');
    assert.ok(
      allowed === '*' || allowed === env.hostOrigin,
      `CORS header of ${url.href}: ${allowed}`,
    );
    const code = await res.text();
    for (const m of code.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+\.js)["']/g)) {
      queue.push(new URL(m[1]!, url));
    }
  }
  assert.ok(
    [...seen].some((href) => href.includes('/chunks/')),
    `the bundle loads lazy chunks too: ${[...seen].join(', ')}`,
  );
});

for (const kind of ['chromium', 'firefox'] as BrowserKind[]) {
  test(
    `${kind} loads the host page from another origin and the element upgrades`,
    { timeout: 60_000 },
    async () => {
      const peer = await env.launch(kind, `smoke-${kind}`);
      const facts = await peer.page.evaluate(async () => {
        await customElements.whenDefined('p2p-share');
        const el = document.querySelector('p2p-share')!;
        const script = document.querySelector<HTMLScriptElement>('script[type=module]')!;
        return {
          pageOrigin: location.origin,
          scriptOrigin: new URL(script.src).origin,
          secure: isSecureContext,
          hasShadow: el.shadowRoot !== null,
          fileInput: el.shadowRoot?.querySelector('input[type=file]') !== null,
          shareFn: typeof (el as unknown as { share?: unknown }).share,
          downloadFn: typeof (el as unknown as { download?: unknown }).download,
        };
      });
      assert.equal(facts.pageOrigin, env.hostOrigin);
      assert.equal(facts.scriptOrigin, new URL(env.serviceUrl).origin);
      assert.notEqual(
        facts.pageOrigin,
        facts.scriptOrigin,
        'host page and service are different origins',
      );
      assert.ok(facts.secure, 'the host page is a secure context');
      assert.ok(facts.hasShadow, 'the element renders into a shadow root');
      assert.ok(facts.fileInput, 'the shadow root has a file input');
      assert.equal(facts.shareFn, 'function');
      assert.equal(facts.downloadFn, 'function');
    },
  );
}
