/**
 * The recipient's side of <p2p-share> against a scripted session: a link in the page fragment
 * opens it (metadata only), then Download, progress, Cancel, Saved, failures with Retry, and a
 * damaged link. Each failure must be shown and fired exactly once.
 */
import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import '../../src/p2p-share.define.js';
import type { P2PError } from '../../src/errors.js';
import type { P2PShareElement } from '../../src/p2p-share.js';
import { en } from '../../src/ui/locales/en.js';
import { randomId } from '../../protocol/ids.js';
import { restoreSessions, useFakeSessions, type FakeReceiveSession, type Fakes } from './fakes.js';
import { $, button, isolated, maybe, record, settle, status, text } from './helpers.js';

const SERVER = 'https://share.example/';
const FILE = { name: 'Holiday — 2024.mov', size: 1_500_000, type: 'video/quicktime' };
const SHA = '0123456789abcdef'.repeat(4);

describe('<p2p-share> receiving', () => {
  let fakes: Fakes;
  let events: ReturnType<typeof record>;
  let secret: { roomId: string; key: string };

  beforeEach(() => {
    secret = { roomId: randomId(), key: randomId() };
    history.replaceState(null, '', `#p2p=${secret.roomId}.${secret.key}`);
    fakes = useFakeSessions();
    events = record();
  });

  afterEach(() => {
    events.stop();
    restoreSessions();
    history.replaceState(null, '', location.pathname + location.search);
  });

  async function recipient(): Promise<[P2PShareElement, FakeReceiveSession]> {
    const el = await fixture<P2PShareElement>(
      html`<p2p-share server=${SERVER} save-to="opfs"></p2p-share>`,
    );
    await waitUntil(() => fakes.receives.length === 1, 'no receive session was created');
    await settle(el);
    return [el, fakes.receives[0]!];
  }

  async function ready(): Promise<[P2PShareElement, FakeReceiveSession]> {
    const [el, session] = await recipient();
    session.loaded(FILE);
    await settle(el);
    return [el, session];
  }

  it('opens the link from the fragment and shows the file with a Download button', async () => {
    const [el, session] = await recipient();
    expect(session.options).to.deep.equal({
      server: SERVER,
      saveTo: 'opfs',
      secret,
      uploadLimit: 0,
      seed: true,
      relayOnly: false,
    });
    expect(session.loads).to.equal(1);
    expect(session.downloads).to.equal(0);
    expect(text(el)).to.contain('Looking up the shared file');

    session.loaded(FILE);
    await settle(el);
    expect($(el, '.file-name').textContent).to.equal(FILE.name);
    expect(text(el)).to.contain('1.5 MB · video/quicktime');
    expect(button(el, 'Download')).to.be.instanceOf(HTMLButtonElement);
    expect(status(el)).to.equal(`${isolated(FILE.name)}, 1.5 MB, ready to download.`);
    expect(maybe(el, '.dropzone')).to.equal(null);
    await expect(el).to.be.accessible();
  });

  it('downloads: connecting, progress with speed and time left, then saved with its hash', async () => {
    const [el, session] = await ready();
    button(el, 'Download').click();
    await settle(el);
    expect(session.downloads).to.equal(1);
    expect(text(el)).to.contain('Connecting to the sender…');
    expect(button(el, 'Cancel')).to.be.instanceOf(HTMLButtonElement);
    expect(status(el)).to.equal('Connecting to the sender…');

    session.set({
      phase: 'downloading',
      file: FILE,
      bytes: 600_000,
      speed: 300_000,
      eta: 3,
      sources: 1,
    });
    session.progress({ bytes: 600_000, total: FILE.size, peer: 'sharer-1' });
    await el.updateComplete;
    const bar = $<HTMLProgressElement>(el, 'progress');
    expect(bar.value).to.equal(600_000);
    expect(bar.max).to.equal(FILE.size);
    expect(bar.getAttribute('aria-label')).to.contain(FILE.name);
    expect(text(el)).to.contain('600 kB of 1.5 MB · 40% · 300 kB/s · 3 sec left');
    expect(status(el)).to.equal(`Downloading ${isolated(FILE.name)}. 40%`);
    expect(events.of('p2p-share-progress')).to.deep.equal([
      { bytes: 600_000, total: FILE.size, peer: 'sharer-1' },
    ]);
    await expect(el).to.be.accessible();

    const completed = oneEvent(el, 'p2p-share-complete');
    session.done(SHA);
    const event = await completed;
    expect(event.detail).to.deep.equal({
      name: FILE.name,
      originalName: FILE.name,
      size: FILE.size,
      sha256: SHA,
    });
    expect(event.bubbles && event.composed).to.equal(true);
    await settle(el);
    expect($(el, '[part="done"]').textContent).to.equal(`Saved ${FILE.name}`);
    expect(text(el)).to.contain('SHA-256 01234567…89abcdef');
    expect($(el, '[part="hash"]').textContent).to.equal(SHA);
    expect(status(el)).to.equal(
      `Saved ${isolated(FILE.name)}. You are sharing it with others while this page is open.`,
    );
    expect(events.of('p2p-share-complete'), 'complete is fired once').to.have.length(1);
    expect(events.of('p2p-share-error')).to.deep.equal([]);
    await expect(el).to.be.accessible();
  });

  it('download() resolves once the file is saved', async () => {
    const [el, session] = await ready();
    let resolved = false;
    const pending = el.download().then(() => (resolved = true));
    await settle(el);
    expect(resolved).to.equal(false);
    session.done(SHA);
    await pending;
    expect(resolved).to.equal(true);
    expect(events.of('p2p-share-complete')).to.have.length(1);
  });

  it('download() waits for the metadata when called at once', async () => {
    const [el, session] = await recipient();
    const pending = el.download();
    await settle(el);
    expect(session.downloads).to.equal(0);
    session.loaded(FILE);
    await waitUntil(() => session.downloads === 1, 'download did not start after loading');
    session.done(SHA);
    await pending;
  });

  it('throttles progress announcements but says a change of situation at once', async () => {
    const [el, session] = await ready();
    button(el, 'Download').click();
    await settle(el);
    session.set({
      phase: 'downloading',
      file: FILE,
      bytes: 150_000,
      speed: 1,
      eta: null,
      sources: 1,
    });
    await el.updateComplete;
    expect(status(el)).to.equal(`Downloading ${isolated(FILE.name)}. 10%`);
    session.set({
      phase: 'downloading',
      file: FILE,
      bytes: 750_000,
      speed: 1,
      eta: null,
      sources: 1,
    });
    await el.updateComplete;
    expect(status(el), 'progress is not re-announced within seconds').to.equal(
      `Downloading ${isolated(FILE.name)}. 10%`,
    );
    expect(text(el)).to.contain('50%');
    session.set({ phase: 'saving', file: FILE });
    await el.updateComplete;
    expect(status(el)).to.equal(`Saving ${isolated(FILE.name)}…`);
  });

  it('shows a failure with Retry when retryable, fires it once, and retries', async () => {
    const [el, session] = await ready();
    const pending = el.download();
    await settle(el);
    const error = { code: 'peer-vanished', reason: 'silent' } as const;
    session.failDownload(error, true, 700_000);
    const err = await pending.then(
      () => null,
      (e: unknown) => e,
    );
    await settle(el);
    expect(err).to.include({ code: 'peer-vanished' });
    const message = 'The other browser stopped responding.';
    expect(events.of('p2p-share-error')).to.deep.equal([{ ...error, message }]);
    const alert = $(el, '[role="alert"]');
    expect(alert.textContent).to.contain('The connection was lost');
    expect(alert.textContent).to.contain(message);
    await expect(el).to.be.accessible();

    button(el, 'Retry').click();
    await settle(el);
    expect(session.downloads).to.equal(2);
    expect(text(el)).to.contain('Connecting to the sender…');
    expect(maybe(el, '[role="alert"]')).to.equal(null);
  });

  it('offers no Retry when the failure is final', async () => {
    const [el, session] = await ready();
    button(el, 'Download').click();
    await settle(el);
    session.failDownload({ code: 'tampered', reason: 'proof' }, false);
    await settle(el);
    expect($(el, '[role="alert"]').textContent).to.contain('tampered');
    expect([...el.shadowRoot!.querySelectorAll('button')]).to.have.length(0);
    expect(events.of('p2p-share-error')).to.have.length(1);
  });

  it('cancels on request, offers to resume, and does not call that an error', async () => {
    const [el, session] = await ready();
    button(el, 'Download').click();
    await settle(el);
    button(el, 'Cancel').click();
    await settle(el);
    expect(session.cancels).to.equal(1);
    expect(text(el)).to.contain('You cancelled the download');
    expect(status(el)).to.equal('Download cancelled.');
    expect(events.of('p2p-share-error')).to.deep.equal([]);
    await expect(el).to.be.accessible();

    button(el, 'Resume').click();
    await settle(el);
    expect(session.downloads).to.equal(2);
  });

  it('explains an expired link from the metadata lookup, once, and retries the lookup', async () => {
    const [el, session] = await recipient();
    session.failLoad({ code: 'room-not-found' }, true);
    await settle(el);
    expect($(el, '[role="alert"]').textContent).to.contain('This link has expired');
    expect(events.of('p2p-share-error')).to.deep.equal([
      {
        code: 'room-not-found',
        message: 'This share does not exist any more: sharing was stopped, or the link expired.',
      },
    ]);
    button(el, 'Retry').click();
    await waitUntil(() => fakes.receives.length === 2, 'retry did not look the link up again');
    expect(session.disposed).to.equal(1);
    expect(fakes.receives[1]!.loads).to.equal(1);
  });

  it('shows a damaged link as invalid-link without contacting anyone', async () => {
    history.replaceState(null, '', `#p2p=${secret.roomId}.${secret.key.slice(0, 9)}`);
    const el = await fixture<P2PShareElement>(html`<p2p-share server=${SERVER}></p2p-share>`);
    await settle(el);
    expect(fakes.receives).to.have.length(0);
    expect($(el, '[role="alert"]').textContent).to.contain('This link is broken');
    expect(events.of('p2p-share-error').map((e) => e.code)).to.deep.equal(['invalid-link']);
    expect(maybe(el, '.dropzone')).to.equal(null);
    const err = await el.download().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.include({ code: 'invalid-link' });
    expect(events.of('p2p-share-error'), 'not fired a second time').to.have.length(1);
    await expect(el).to.be.accessible();
  });

  it('follows hashchange: a link switches to receiving, no link back to sharing', async () => {
    history.replaceState(null, '', location.pathname + location.search);
    const el = await fixture<P2PShareElement>(html`<p2p-share server=${SERVER}></p2p-share>`);
    expect(text(el)).to.contain('Drop a file here');

    const changed = oneEvent(window, 'hashchange');
    location.hash = `p2p=${secret.roomId}.${secret.key}`;
    await changed;
    await waitUntil(() => fakes.receives.length === 1, 'the new link was not opened');
    expect(fakes.receives[0]!.options.secret).to.deep.equal(secret);
    fakes.receives[0]!.loaded(FILE);
    await settle(el);
    expect(button(el, 'Download')).to.be.instanceOf(HTMLButtonElement);

    const back = oneEvent(window, 'hashchange');
    location.hash = '';
    await back;
    await settle(el);
    expect(fakes.receives[0]!.disposed).to.equal(1);
    expect(text(el)).to.contain('Drop a file here');
  });

  it('opens a different link in place of the one it was downloading', async () => {
    const [el, first] = await ready();
    button(el, 'Download').click();
    await settle(el);
    const other = { roomId: randomId(), key: randomId() };
    const changed = oneEvent(window, 'hashchange');
    location.hash = `p2p=${other.roomId}.${other.key}`;
    await changed;
    await waitUntil(() => fakes.receives.length === 2, 'the second link was not opened');
    expect(first.disposed).to.equal(1);
    const second = fakes.receives[1]!;
    expect(second.options.secret).to.deep.equal(other);
    second.loaded({ name: 'other.txt', size: 5, type: 'text/plain' });
    await settle(el);
    expect(text(el)).to.contain('other.txt');
    button(el, 'Download').click();
    await settle(el);
    expect(second.downloads, 'a new download, not the old one').to.equal(1);
    expect(events.of('p2p-share-error')).to.deep.equal([]);
  });

  it('refuses share() while showing a link', async () => {
    const [el] = await ready();
    const err = await el.share(new File(['x'], 'x.txt')).then(
      () => null,
      (e: unknown) => e,
    );
    await settle(el);
    expect(err).to.include({ code: 'bad-request' });
    expect((err as P2PError).params).to.deep.equal({ reason: 'recipient-page' });
    expect(fakes.shares).to.have.length(0);
    const words = en.errors['bad-request'].reasons['recipient-page'];
    expect(events.of('p2p-share-error')).to.deep.equal([
      { code: 'bad-request', reason: 'recipient-page', message: words },
    ]);
    const alert = $(el, '[role="alert"]');
    expect(alert.dataset.code).to.equal('bad-request');
    expect(alert.textContent).to.contain(words);
    expect(words).to.contain('share link');
    expect(button(el, 'Download')).to.be.instanceOf(HTMLButtonElement);
  });

  it('disposes of the session when the element leaves the page', async () => {
    const [el, session] = await ready();
    el.remove();
    expect(session.disposed).to.equal(1);
  });
});
