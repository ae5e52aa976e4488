import { expect } from '@open-wc/testing';
import { openSink } from '../../src/sinks/sink.js';
import { REVOKE_AFTER_MS, downloadFile } from '../../src/sinks/save.js';
import { MiB, clearOpfs, randomBytes, replace, sha256 } from './helpers.js';

interface Click {
  href: string;
  download: string;
  attached: boolean;
  anchor: HTMLAnchorElement;
}

describe('save()', () => {
  const restores: Array<() => void> = [];
  let clicks: Click[] = [];

  beforeEach(() => {
    clicks = [];
    // Recorded instead of clicked: a headless download would only land in a temp folder.
    restores.push(
      replace(HTMLAnchorElement.prototype, 'click', function (this: HTMLAnchorElement) {
        clicks.push({
          href: this.href,
          download: this.download,
          attached: this.isConnected,
          anchor: this,
        });
      }),
    );
  });

  afterEach(async () => {
    while (restores.length) restores.pop()!();
    await clearOpfs();
  });

  it('downloads the disk-backed file through a blob URL, as bytes the page never renders', async () => {
    const source = randomBytes(2 * MiB + 5);
    const sink = await openSink({
      name: 'résumé 📄.html',
      size: source.length,
      roomId: `save-${Date.now()}`,
      prefer: 'opfs',
    });
    await sink.write(0, source);
    const file = await sink.finish();
    await sink.save(file, 'résumé 📄.html');

    expect(clicks).to.have.length(1);
    const [click] = clicks;
    expect(click!.download).to.equal('résumé 📄.html');
    expect(click!.href).to.match(/^blob:/);
    expect(click!.attached).to.equal(true);
    expect(click!.anchor.isConnected).to.equal(false);

    const response = await fetch(click!.href);
    const blob = await response.blob();
    expect(blob.type).to.equal('application/octet-stream');
    expect(await sha256(blob)).to.equal(await sha256(source));
  });

  it('sanitizes the name it saves under', () => {
    downloadFile(
      new File(['<svg/>'], 'x.svg', { type: 'image/svg+xml' }),
      '../../.evil\u202egpj.svg',
    );
    expect(clicks).to.have.length(1);
    expect(clicks[0]!.download).to.equal('_.._.evilgpj.svg');
  });

  it('revokes the object URL later, not while the download may still read it', async () => {
    const timers: Array<{ callback: () => void; delay: number }> = [];
    const restoreTimeout = replace(window, 'setTimeout', ((callback: () => void, delay: number) => {
      timers.push({ callback, delay });
      return 0;
    }) as typeof window.setTimeout);
    try {
      downloadFile(new File(['hello'], 'hello.txt', { type: 'text/plain' }), 'hello.txt');
    } finally {
      restoreTimeout();
    }
    const href = clicks[0]!.href;
    expect(timers).to.have.length(1);
    expect(timers[0]!.delay).to.equal(REVOKE_AFTER_MS);
    expect(await (await fetch(href)).text()).to.equal('hello');
    timers[0]!.callback();
    let failed = false;
    await fetch(href).catch(() => (failed = true));
    expect(failed).to.equal(true);
  });
});
