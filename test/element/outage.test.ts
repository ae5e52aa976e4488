/**
 * The service briefly unavailable, as <p2p-share> shows it against scripted sessions: a status
 * line (not an alert) beside what the sharer's and the recipient's screens show, which stay as
 * they were and work, and that goes once the service is back.
 */
import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import '../../src/p2p-share.define.js';
import type { P2PShareElement } from '../../src/p2p-share.js';
import { randomId } from '../../protocol/ids.js';
import type { ReceiveState } from '../../src/session/types.js';
import { restoreSessions, useFakeSessions, type Fakes } from './fakes.js';
import { $, button, makeFile, maybe, settle, text } from './helpers.js';

const SERVER = 'https://share.example/';
const FILE = { name: 'lecture.mp4', size: 1_500_000, type: 'video/mp4' };
const LINK = `${location.origin}/page#p2p=AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB`;
const OUTAGE = 'The sharing service is briefly unavailable; still trying. Transfers go on.';

/** The outage line, or null when there is none. */
function outage(el: P2PShareElement): HTMLElement | null {
  return maybe(el, '[part="outage"]');
}

describe('<p2p-share> while the service is briefly unavailable', () => {
  let fakes: Fakes;

  beforeEach(() => {
    fakes = useFakeSessions();
  });

  afterEach(() => {
    restoreSessions();
    history.replaceState(null, '', location.pathname + location.search);
  });

  it('tells the recipient while it lasts, beside the download, and not as an alert', async () => {
    history.replaceState(null, '', `#p2p=${randomId()}.${randomId()}`);
    const el = await fixture<P2PShareElement>(html`<p2p-share server=${SERVER}></p2p-share>`);
    await waitUntil(() => fakes.receives.length === 1, 'no receive session was created');
    const session = fakes.receives[0]!;
    session.loaded(FILE);
    await settle(el);
    button(el, 'Download').click();
    await settle(el);
    const downloading: ReceiveState = {
      phase: 'downloading',
      file: FILE,
      bytes: 600_000,
      speed: 100_000,
      eta: 9,
      sources: 1,
    };
    session.set(downloading);
    await el.updateComplete;
    expect(outage(el)).to.equal(null);

    session.set({ ...downloading, unavailable: true });
    await el.updateComplete;
    const line = outage(el)!;
    expect(line.textContent!.trim()).to.equal(OUTAGE);
    expect(line.getAttribute('role')).to.equal('status');
    expect(maybe(el, '[role="alert"]'), 'nothing failed').to.equal(null);
    // The download goes on as it was: its progress, its facts and its Cancel.
    expect($<HTMLProgressElement>(el, 'progress').value).to.equal(600_000);
    expect(text(el)).to.contain('600 kB of 1.5 MB · 40%');
    expect(button(el, 'Cancel')).to.be.instanceOf(HTMLButtonElement);
    await expect(el).to.be.accessible();

    // Progress goes on while it lasts.
    session.set({ ...downloading, bytes: 750_000, unavailable: true });
    await el.updateComplete;
    expect(outage(el)).not.to.equal(null);
    expect(text(el)).to.contain('750 kB of 1.5 MB · 50%');

    session.set({ ...downloading, bytes: 900_000 });
    await el.updateComplete;
    expect(outage(el), 'gone once the service is back').to.equal(null);
    expect(text(el)).to.contain('900 kB of 1.5 MB · 60%');

    // A failure speaks for itself: the line does not stand beside it.
    session.set({ ...downloading, unavailable: true });
    await el.updateComplete;
    session.failDownload({ code: 'connection-failed', reason: 'timeout' }, true);
    session.set({ ...session.state, unavailable: true });
    await settle(el);
    expect(outage(el)).to.equal(null);
    expect(button(el, 'Retry')).to.be.instanceOf(HTMLButtonElement);
  });

  it('tells the sharer while it lasts, beside the link, and not as an alert', async () => {
    const el = await fixture<P2PShareElement>(html`<p2p-share server=${SERVER}></p2p-share>`);
    const input = $<HTMLInputElement>(el, 'input[type="file"]');
    const transfer = new DataTransfer();
    transfer.items.add(makeFile('notes.txt', 'hello', 'text/plain'));
    input.files = transfer.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
    await waitUntil(() => fakes.shares.length === 1, 'no share session was created');
    await settle(el);
    const session = fakes.shares[0]!;
    session.ready(LINK);
    await settle(el);
    expect(outage(el)).to.equal(null);
    const sharing = session.state;
    if (sharing.phase !== 'sharing') throw new Error('not sharing');

    session.set({ ...sharing, unavailable: true });
    await el.updateComplete;
    const line = outage(el)!;
    expect(line.textContent!.trim()).to.equal(OUTAGE);
    expect(line.getAttribute('role')).to.equal('status');
    expect(maybe(el, '[role="alert"]')).to.equal(null);
    expect($<HTMLInputElement>(el, 'input.link').value, 'the link stays').to.equal(LINK);
    expect(button(el, 'Copy')).to.be.instanceOf(HTMLButtonElement);
    expect(button(el, 'Stop sharing')).to.be.instanceOf(HTMLButtonElement);
    await expect(el).to.be.accessible();

    session.set({ ...sharing, unavailable: false });
    await el.updateComplete;
    expect(outage(el)).to.equal(null);
    expect($<HTMLInputElement>(el, 'input.link').value).to.equal(LINK);
  });
});
