/**
 * A file's name comes from the sharer, so the recipient's widget shows it through the same
 * cleaning as the name it saves: bidirectional controls and control characters gone, HTML as
 * text, a very long name cut as the file system will take it. The shown name is the saved name,
 * in a `<bdi>`, and `p2p-share-complete` reports it (the sharer's own under `originalName`).
 */
import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import '../../src/p2p-share.define.js';
import type { P2PShareElement } from '../../src/p2p-share.js';
import { MAX_NAME_BYTES, sanitizeFileName } from '../../src/sinks/file-name.js';
import { randomId } from '../../protocol/ids.js';
import { restoreSessions, useFakeSessions, type Fakes } from './fakes.js';
import { $, button, isolated, makeFile, maybe, record, settle, status } from './helpers.js';

const SERVER = 'https://share.example/';
const LINK = `${location.origin}/page#p2p=AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB`;
const SHA = 'ab'.repeat(32);

/** Name → what is shown and saved. */
const NAMES: [what: string, sent: string, saved: string][] = [
  ['a right-to-left override', 'report\u202Efdp.exe', 'reportfdp.exe'],
  [
    'every other bidirectional control',
    '\u202Aa\u202Bb\u202Cc\u202Dd\u2066e\u2067f\u2068g\u2069h\u200Ei\u200Fj\u061Ck.txt',
    'abcdefghijk.txt',
  ],
  ['control characters', 'line\nbreak\u0000\u0007\u001b[31m\u0085.txt', 'linebreak[31m.txt'],
  ['HTML', '<img src=x onerror=alert(1)>.txt', '_img src=x onerror=alert(1)_.txt'],
  ['300 multi-byte characters', `${'日本'.repeat(150)}.pdf`, `${'日本'.repeat(39)}.pdf`],
];

/**
 * Characters that must never reach the shadow tree's text or labels from a name. Line feeds and
 * tabs are the templates' own indentation; the names' are checked where the name is shown.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const FORBIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e]/;

/** Every text node and every attribute value in the shadow tree. */
function everything(el: P2PShareElement): string {
  const root = el.shadowRoot!;
  const attributes = [...root.querySelectorAll('*')].flatMap((node) =>
    [...node.attributes].map((a) => a.value),
  );
  return [root.textContent ?? '', ...attributes].join('\n');
}

/** The widget's own isolates around a name are allowed; any other isolate control is not. */
function strayIsolates(text: string, saved: string): boolean {
  return /[\u2066-\u2069]/.test(text.split(isolated(saved)).join(''));
}

describe('<p2p-share> file names from the sharer', () => {
  let fakes: Fakes;
  let events: ReturnType<typeof record>;

  beforeEach(() => {
    fakes = useFakeSessions();
    events = record();
  });

  afterEach(() => {
    events.stop();
    restoreSessions();
    history.replaceState(null, '', location.pathname + location.search);
  });

  it('names the cases as the sinks save them', () => {
    for (const [what, sent, saved] of NAMES) {
      expect(sanitizeFileName(sent), what).to.equal(saved);
    }
    const long = NAMES.at(-1)!;
    expect(Array.from(long[1])).to.have.length(304);
    expect(new TextEncoder().encode(long[2]).length).to.be.at.most(MAX_NAME_BYTES);
  });

  for (const [what, sent, saved] of NAMES) {
    it(`shows a name with ${what} as it saves it, through every state`, async () => {
      history.replaceState(null, '', `#p2p=${randomId()}.${randomId()}`);
      const el = await fixture<P2PShareElement>(
        html`<p2p-share server=${SERVER} save-to="opfs"></p2p-share>`,
      );
      await waitUntil(() => fakes.receives.length === 1, 'no receive session was created');
      const session = fakes.receives[0]!;
      const file = { name: sent, size: 2_000, type: 'application/octet-stream' };
      session.loaded(file);
      await settle(el);

      const check = (phase: string) => {
        const shown = $(el, '.file-name');
        expect(shown.textContent, phase).to.equal(saved);
        expect(shown.querySelector('bdi')?.textContent, `${phase}: in a <bdi>`).to.equal(saved);
        const all = everything(el);
        expect(FORBIDDEN.test(all), `${phase}: ${JSON.stringify(all)}`).to.equal(false);
        expect(strayIsolates(all, saved), `${phase}: stray isolates`).to.equal(false);
        expect(maybe(el, 'img'), `${phase}: HTML in a name stays text`).to.equal(null);
      };
      check('ready');
      expect(status(el)).to.equal(`${isolated(saved)}, 2 kB, ready to download.`);
      await expect(el).to.be.accessible();

      button(el, 'Download').click();
      await settle(el);
      session.set({
        phase: 'downloading',
        file: session.fileInfo(),
        bytes: 800,
        speed: 0,
        eta: null,
        sources: 1,
      });
      await settle(el);
      check('downloading');
      const bar = $<HTMLProgressElement>(el, 'progress');
      expect(bar.getAttribute('aria-label')).to.equal(`Downloading ${isolated(saved)}`);
      expect(status(el)).to.equal(`Downloading ${isolated(saved)}. 40%`);
      await expect(el).to.be.accessible();

      const detail = session.done(SHA);
      await settle(el);
      check('done');
      const done = $(el, '[part="done"]');
      expect(done.textContent).to.equal(`Saved ${saved}`);
      expect(done.querySelector('bdi')?.textContent).to.equal(saved);
      expect(events.of('p2p-share-complete')).to.deep.equal([detail]);
      expect(detail).to.deep.equal({ name: saved, originalName: sent, size: 2_000, sha256: SHA });
      await expect(el).to.be.accessible();
    });
  }

  it("shows the sharer its own file's name as recipients will see it", async () => {
    const el = await fixture<P2PShareElement>(html`<p2p-share server=${SERVER}></p2p-share>`);
    const [, sent, saved] = NAMES[0]!;
    const input = $<HTMLInputElement>(el, 'input[type="file"]');
    const transfer = new DataTransfer();
    transfer.items.add(makeFile(sent, 'hello', 'text/plain'));
    input.files = transfer.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
    await waitUntil(() => fakes.shares.length === 1, 'no share session was created');
    await settle(el);
    const session = fakes.shares[0]!;
    expect(session.file.name, 'the session gets the name as picked').to.equal(sent);
    expect($(el, '.file-name').textContent).to.equal(saved);
    expect($(el, 'progress').getAttribute('aria-label')).to.equal(`Preparing ${isolated(saved)}`);
    expect(status(el)).to.contain(`Preparing ${isolated(saved)}…`);
    expect(FORBIDDEN.test(everything(el))).to.equal(false);
    await expect(el).to.be.accessible();

    session.ready(LINK);
    await settle(el);
    expect($(el, '.file-name bdi').textContent).to.equal(saved);
    await expect(el).to.be.accessible();
    button(el, 'Stop sharing').click();
    await settle(el);
    expect(status(el)).to.equal(`Stopped sharing ${isolated(saved)}.`);
    expect(FORBIDDEN.test(everything(el))).to.equal(false);
  });
});
