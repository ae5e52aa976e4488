/**
 * Received files are only ever saved, never rendered in the host page's origin. An HTML file and
 * an SVG file that run script (inline, through event handlers) travel to a recipient: each is
 * saved to disk byte for byte, and neither page's title, DOM or globals change, no frame or
 * element shows the file, and no new page or tab opens.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'puppeteer-core';
import { makeFile } from '../testing/files.js';
import { withTimeout } from '../testing/wait.js';
import type { Peer } from './lib/peer.js';
import { receive, share } from './lib/transfer.js';
import { useE2E } from './lib/world.js';

const HTML = `<!doctype html>
<html>
  <head>
    <title>Invoice</title>
    <script>
      document.title = 'pwned';
      window.__pwned = 'html';
      try { parent.document.title = 'pwned'; top.document.body.innerHTML = 'pwned'; } catch {}
    </script>
  </head>
  <body>
    <img src="x" onerror="document.title = 'pwned'; window.__pwned = 'html-img'" />
    <h1>Invoice #1</h1>
  </body>
</html>
`;

const SVG = `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"
     onload="document.title = 'pwned'; window.__pwned = 'svg-onload'">
  <script>document.title = 'pwned'; window.__pwned = 'svg';</script>
  <rect width="10" height="10" fill="red" />
</svg>
`;

const env = useE2E();

interface PageFacts {
  title: string;
  body: string;
  pwned: unknown;
  frames: number;
  /** Elements in the widget's shadow tree that could show a document or an image. */
  renderers: number;
}

async function facts(page: Page): Promise<PageFacts> {
  return page.evaluate(() => {
    const root = document.querySelector('p2p-share')?.shadowRoot;
    return {
      title: document.title,
      body: document.body.innerHTML,
      pwned: (window as unknown as { __pwned?: unknown }).__pwned ?? null,
      frames: window.frames.length,
      renderers:
        root?.querySelectorAll('iframe, object, embed, img, svg, video, audio').length ?? -1,
    };
  });
}

async function openPages(peer: Peer): Promise<string[]> {
  return (await peer.browser.pages()).map((p) => p.url());
}

/**
 * Watches the recipient's Chromium from before the download: the pages it creates, and its own
 * account of the download of `name` (`Browser.downloadProgress`). Both arrive on one DevTools
 * session, in the order the browser emitted them, and a tab or navigation the download's click
 * could set off is created before the browser even begins the download: once `saved` resolves,
 * `opened` holds every page that click opened.
 */
async function watchBrowser(
  peer: Peer,
  name: string,
): Promise<{ opened: string[]; saved: Promise<void> }> {
  const session = await peer.browser.target().createCDPSession();
  const opened: string[] = [];
  session.on('Target.targetCreated', ({ targetInfo }) => {
    if (targetInfo.type === 'page') opened.push(targetInfo.url);
  });
  let guid: string | null = null;
  const saved = new Promise<void>((resolve, reject) => {
    session.on('Browser.downloadWillBegin', (event) => {
      if (event.suggestedFilename === name) guid = event.guid;
    });
    session.on('Browser.downloadProgress', (event) => {
      if (event.guid !== guid) return;
      if (event.state === 'completed') resolve();
      if (event.state === 'canceled') reject(new Error(`the browser cancelled ${name}`));
    });
  });
  // The browser announces the pages it already has before it answers; they are not new.
  await session.send('Target.setDiscoverTargets', { discover: true });
  opened.length = 0;
  await session.send('Browser.setDownloadBehavior', {
    behavior: 'allow',
    downloadPath: peer.downloadDir,
    eventsEnabled: true,
  });
  return { opened, saved };
}

for (const [name, content] of [
  ['invoice.html', HTML],
  ['logo.svg', SVG],
] as const) {
  test(
    `a received ${name} with script is saved intact and never rendered`,
    { timeout: 120_000 },
    async () => {
      const file = await makeFile(env.tmp, name, content);
      const [sharer, recipient] = await Promise.all([
        env.launch('chromium', 'sharer'),
        env.launch('chromium', 'recipient'),
      ]);
      const link = await share(sharer, file);
      await recipient.page.goto('about:blank');
      const before = { sharer: await facts(sharer.page), pages: await openPages(recipient) };
      const browser = await watchBrowser(recipient, name);

      const { savedPath } = await receive(recipient, link, file);
      assert.equal(path.basename(savedPath), name, 'saved under its own name');
      // The browser's own word that the download is over: what it set off has happened by now.
      await withTimeout(browser.saved, 30_000, `Chromium never reported ${name} downloaded`);
      assert.deepEqual(browser.opened, [], 'the download opened no page');

      const after = await facts(recipient.page);
      assert.equal(after.title, 'p2p-share e2e host', 'the host page title is unchanged');
      assert.equal(after.pwned, null, 'no script from the file ran in the host page');
      assert.equal(after.frames, 0, 'no frame was added');
      assert.equal(after.renderers, 0, 'the widget shows no document or image');
      assert.match(after.body, /^\s*<h1>Host page<\/h1>\s*<p2p-share [^>]*><\/p2p-share>\s*$/);
      assert.deepEqual(
        await openPages(recipient),
        [recipient.page.url()],
        'no new page or tab opened',
      );
      assert.equal(before.pages.length, 1);
      assert.deepEqual(
        await facts(sharer.page),
        before.sharer,
        "the sharer's page is unchanged too",
      );
    },
  );
}
