/**
 * The widget under a strict Content-Security-Policy on the host page: scripts and connections to
 * the service's origin only, no inline script or style, no eval, no blob: or data: anywhere, no
 * images. A file is shared and received end to end (saved to disk, hash-equal, by Chromium and
 * by Firefox) and the pages report no violation, through `securitypolicyviolation` or the console.
 * The download of the finished file (an `a[download]` click on a blob: URL the widget made) is not
 * a fetch any directive governs, so it needs no blob: in the policy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrowserKind } from '../testing/browsers.js';
import { makeRandomFile } from '../testing/files.js';
import { strictCsp } from './lib/host-page.js';
import { gotoHost, type Peer } from './lib/peer.js';
import type { CspViolation } from './lib/recorder.js';
import { receive, share } from './lib/transfer.js';
import { useE2E } from './lib/world.js';

const env = useE2E();

/** Console lines in which the browser reports a blocked resource or script. */
function watchConsole(peer: Peer): string[] {
  const lines: string[] = [];
  peer.page.on('console', (msg) => {
    if (/content security policy|refused to/i.test(msg.text())) lines.push(msg.text());
  });
  return lines;
}

/**
 * What the page reported. Firefox also reports its own request for /favicon.ico, which the policy's
 * `img-src 'none'` blocks; that is the browser's fetch, not the page's or the widget's.
 */
async function violations(peer: Peer): Promise<CspViolation[]> {
  const all = await peer.page.evaluate(() => window.__p2p.violations);
  return all.filter((v) => v.blocked !== `${env.hostOrigin}/favicon.ico`);
}

test(
  'shares from Chromium and receives in Chromium on host pages with a strict CSP, without a single violation',
  { timeout: 120_000 },
  async () => {
    const url = env.hostUrl({ csp: true });
    const served = await fetch(url);
    assert.equal(served.headers.get('content-security-policy'), strictCsp(env.serviceUrl));
    assert.doesNotMatch(strictCsp(env.serviceUrl), /unsafe-|blob:|data:|\*/);

    const [sharer, recipient] = await Promise.all([
      env.launch('chromium', 'sharer', url, { recorder: true }),
      env.launch('chromium', 'recipient', url, { recorder: true }),
    ]);
    const consoles = [watchConsole(sharer), watchConsole(recipient)];
    await gotoHost(sharer.page, url);

    // The policy is really in force: the page itself can run no inline script. An inline script
    // runs as it is inserted; a blocked one is reported by an event that comes after.
    const inlineRan = await sharer.page.evaluate(async () => {
      const reported = new Promise((resolve) =>
        document.addEventListener('securitypolicyviolation', resolve, { once: true }),
      );
      const script = document.createElement('script');
      script.textContent = 'window.__inlineRan = true;';
      document.head.append(script);
      const ran = (window as unknown as { __inlineRan?: boolean }).__inlineRan === true;
      if (!ran) await reported;
      return ran;
    });
    assert.equal(inlineRan, false, 'the strict policy blocks inline script');
    const probe = await violations(sharer);
    assert.equal(probe.length, 1, `the probe is reported: ${JSON.stringify(probe)}`);
    assert.equal(probe[0]!.directive, 'script-src-elem');
    await sharer.page.evaluate(() => {
      window.__p2p.violations.length = 0;
    });
    consoles[0]!.length = 0;

    const styled = await sharer.page.evaluate(() => {
      const el = document.querySelector('p2p-share')!;
      const button = el.shadowRoot!.querySelector('button.primary')!;
      return getComputedStyle(button).backgroundColor;
    });
    assert.notEqual(styled, 'rgba(0, 0, 0, 0)', 'the widget is styled (adopted style sheets)');

    const file = await makeRandomFile(env.tmp, 'strict.bin', 768 * 1024);
    const link = await share(sharer, file);
    await receive(recipient, link, file);

    for (const peer of [sharer, recipient]) {
      assert.deepEqual(await violations(peer), [], `${peer.label}: no CSP violation`);
    }
    assert.deepEqual(consoles, [[], []], 'no CSP complaint in either console');
  },
);

test(
  'a Firefox recipient on a strict-CSP host page receives the file without a violation',
  { timeout: 120_000 },
  async () => {
    const url = env.hostUrl({ csp: true });
    const kinds: BrowserKind[] = ['chromium', 'firefox'];
    const [sharer, recipient] = await Promise.all(
      kinds.map((kind, i) => env.launch(kind, i ? 'recipient' : 'sharer', url, { recorder: true })),
    );
    const file = await makeRandomFile(env.tmp, 'strict-firefox.bin', 512 * 1024);
    const link = await share(sharer!, file);
    await receive(recipient!, link, file);
    for (const peer of [sharer!, recipient!]) {
      assert.deepEqual(await violations(peer), [], `${peer.label}: no CSP violation`);
    }
  },
);
