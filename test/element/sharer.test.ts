/**
 * The sharer's side of <p2p-share> against a scripted session: drop and pick, keyboard, the
 * states from preparing to stopped, the link and its copy button, recipients, and that every
 * failure is shown and fired exactly once.
 */
import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import { emulateMedia, sendKeys } from '@web/test-runner-commands';
import '../../src/p2p-share.define.js';
import type { P2PShareElement } from '../../src/p2p-share.js';
import type { PeerView } from '../../src/session/types.js';
import { restoreSessions, useFakeSessions, type Fakes } from './fakes.js';
import { $, button, makeFile, maybe, record, settle, status, text } from './helpers.js';

const SERVER = 'https://share.example/';
const LINK = `${location.origin}/page#p2p=AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB`;

/**
 * Presses Copy while the Clipboard API refuses, with `execCommand` standing in for the old way
 * of copying (it returns whether that copied).
 */
async function copyRefused(el: P2PShareElement, exec: (command: string) => boolean) {
  const original = { writeText: navigator.clipboard.writeText, exec: document.execCommand };
  navigator.clipboard.writeText = () => Promise.reject(new DOMException('no', 'NotAllowedError'));
  document.execCommand = exec;
  try {
    button(el, 'Copy').click();
    await settle(el);
  } finally {
    navigator.clipboard.writeText = original.writeText;
    document.execCommand = original.exec;
  }
}

describe('<p2p-share> sharing', () => {
  let fakes: Fakes;
  let events: ReturnType<typeof record>;

  beforeEach(() => {
    history.replaceState(null, '', location.pathname + location.search);
    fakes = useFakeSessions();
    events = record();
  });

  afterEach(() => {
    events.stop();
    restoreSessions();
  });

  async function sharer(): Promise<P2PShareElement> {
    return fixture<P2PShareElement>(html`<p2p-share server=${SERVER}></p2p-share>`);
  }

  function pick(el: P2PShareElement, ...files: File[]): void {
    const input = $<HTMLInputElement>(el, 'input[type="file"]');
    const transfer = new DataTransfer();
    for (const file of files) transfer.items.add(file);
    input.files = transfer.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }

  async function sharing(el: P2PShareElement, file = makeFile('notes.txt', 'hello', 'text/plain')) {
    pick(el, file);
    await waitUntil(() => fakes.shares.length === 1, 'no share session was created');
    await settle(el);
    const session = fakes.shares[0]!;
    session.ready(LINK);
    await settle(el);
    return session;
  }

  it('starts as an accessible drop zone with a choose button', async () => {
    const el = await sharer();
    expect(text(el)).to.contain('Drop a file here');
    expect(button(el, 'Choose a file')).to.be.instanceOf(HTMLButtonElement);
    const input = $<HTMLInputElement>(el, 'input[type="file"]');
    expect(input.hidden).to.equal(true);
    expect(input.multiple).to.equal(false);
    expect(el.link).to.equal('');
    await expect(el).to.be.accessible();
  });

  it('shares a picked file: preparing, then the link, the event and the property', async () => {
    const el = await sharer();
    const file = makeFile('notes.txt', 'hello world', 'text/plain');
    pick(el, file);
    await waitUntil(() => fakes.shares.length === 1, 'no share session was created');
    await settle(el);

    const session = fakes.shares[0]!;
    expect(session.options.server).to.equal(SERVER);
    expect(session.calls).to.have.length(1);
    expect(session.calls[0]!.file).to.equal(file);
    expect(session.calls[0]!.page).to.equal(location.href);
    expect(text(el)).to.contain('Preparing… 0%');

    session.set({ phase: 'preparing', file: session.file, hashed: 6 });
    await el.updateComplete;
    expect(text(el)).to.contain('Preparing… 54%');
    expect($<HTMLProgressElement>(el, 'progress').value).to.equal(6);

    const linked = oneEvent(el, 'p2p-share-link');
    session.ready(LINK);
    const event = await linked;
    expect(event.detail).to.deep.equal({ link: LINK });
    expect(event.bubbles && event.composed).to.equal(true);
    await settle(el);

    expect($<HTMLInputElement>(el, 'input.link').value).to.equal(LINK);
    expect($<HTMLInputElement>(el, 'input.link').readOnly).to.equal(true);
    expect(el.link).to.equal(LINK);
    expect(text(el)).to.contain('Waiting for someone to open the link');
    expect(status(el)).to.contain('Link ready');
    expect(events.of('p2p-share-error')).to.deep.equal([]);
    await expect(el).to.be.accessible();
  });

  it('share() resolves to the link', async () => {
    const el = await sharer();
    const pending = el.share(makeFile('a.bin', new Uint8Array(3)));
    await waitUntil(() => fakes.shares.length === 1);
    fakes.shares[0]!.ready(LINK);
    expect(await pending).to.equal(LINK);
  });

  it('highlights on dragover and shares the dropped file', async () => {
    const el = await sharer();
    const zone = $(el, '.dropzone');
    const file = makeFile('photo.jpg', new Uint8Array([1, 2, 3]), 'image/jpeg');
    const transfer = new DataTransfer();
    transfer.items.add(file);

    const enter = new DragEvent('dragenter', { dataTransfer: transfer, cancelable: true });
    zone.dispatchEvent(enter);
    const over = new DragEvent('dragover', { dataTransfer: transfer, cancelable: true });
    zone.dispatchEvent(over);
    await el.updateComplete;
    expect(enter.defaultPrevented && over.defaultPrevented, 'the drop must be allowed').to.equal(
      true,
    );
    expect(zone.classList.contains('dragging')).to.equal(true);

    const drop = new DragEvent('drop', { dataTransfer: transfer, cancelable: true });
    zone.dispatchEvent(drop);
    expect(drop.defaultPrevented, 'the browser must not open the file').to.equal(true);
    await waitUntil(() => fakes.shares.length === 1, 'the drop did not start a share');
    expect(fakes.shares[0]!.calls[0]!.file).to.equal(file);
    await settle(el);
    expect(maybe(el, '.dragging')).to.equal(null);
    expect(text(el)).to.contain('photo.jpg');
  });

  it('drops the highlight when the drag leaves', async () => {
    const el = await sharer();
    const zone = $(el, '.dropzone');
    const transfer = new DataTransfer();
    transfer.items.add(makeFile('x', 'x'));
    zone.dispatchEvent(new DragEvent('dragenter', { dataTransfer: transfer, cancelable: true }));
    await el.updateComplete;
    expect(zone.classList.contains('dragging')).to.equal(true);
    zone.dispatchEvent(new DragEvent('dragleave', { dataTransfer: transfer }));
    await el.updateComplete;
    expect(zone.classList.contains('dragging')).to.equal(false);
    expect(fakes.shares).to.have.length(0);
  });

  it('keeps the highlight while the drag crosses a child of the drop zone', async () => {
    const el = await sharer();
    const zone = $(el, '.dropzone');
    const child = button(el, 'Choose a file');
    const transfer = new DataTransfer();
    transfer.items.add(makeFile('x', 'x'));
    const drag = (target: Element, type: string) =>
      target.dispatchEvent(
        new DragEvent(type, { dataTransfer: transfer, cancelable: true, bubbles: true }),
      );

    drag(zone, 'dragenter');
    // Onto the button: the browser enters the child before it leaves the zone.
    drag(child, 'dragenter');
    drag(zone, 'dragleave');
    await el.updateComplete;
    expect(zone.classList.contains('dragging'), 'still over the zone').to.equal(true);

    // Back off the button, still inside the zone.
    drag(zone, 'dragenter');
    drag(child, 'dragleave');
    await el.updateComplete;
    expect(zone.classList.contains('dragging'), 'back over the zone').to.equal(true);

    drag(zone, 'dragleave');
    await el.updateComplete;
    expect(zone.classList.contains('dragging'), 'gone').to.equal(false);
    await expect(el).to.be.accessible();
  });

  it('leaves a drag of text alone', async () => {
    const el = await sharer();
    const zone = $(el, '.dropzone');
    const transfer = new DataTransfer();
    transfer.setData('text/plain', 'not a file');
    const enter = new DragEvent('dragenter', { dataTransfer: transfer, cancelable: true });
    const over = new DragEvent('dragover', { dataTransfer: transfer, cancelable: true });
    zone.dispatchEvent(enter);
    zone.dispatchEvent(over);
    await el.updateComplete;
    expect(enter.defaultPrevented || over.defaultPrevented, 'text may not be dropped').to.equal(
      false,
    );
    expect(zone.classList.contains('dragging')).to.equal(false);
  });

  it('forgets a drag that was over it when the element left the page', async () => {
    const el = await sharer();
    const transfer = new DataTransfer();
    transfer.items.add(makeFile('x', 'x'));
    $(el, '.dropzone').dispatchEvent(
      new DragEvent('dragenter', { dataTransfer: transfer, cancelable: true }),
    );
    await el.updateComplete;
    expect($(el, '.dropzone').classList.contains('dragging')).to.equal(true);

    const parent = el.parentNode!;
    el.remove();
    parent.appendChild(el);
    await settle(el);
    expect($(el, '.dropzone').classList.contains('dragging')).to.equal(false);
  });

  it('reaches the choose button with Tab and opens the picker with Enter and Space', async () => {
    const el = await sharer();
    const input = $<HTMLInputElement>(el, 'input[type="file"]');
    let clicks = 0;
    input.addEventListener('click', (event) => {
      clicks++;
      event.preventDefault(); // no real file dialog in the test browser
    });

    await sendKeys({ press: 'Tab' });
    expect(el.shadowRoot!.activeElement).to.equal(button(el, 'Choose a file'));
    await sendKeys({ press: 'Enter' });
    expect(clicks).to.equal(1);
    await sendKeys({ press: 'Space' });
    expect(clicks).to.equal(2);
  });

  it('copies the link with the clipboard API and says so', async () => {
    const el = await sharer();
    await sharing(el);
    const written: string[] = [];
    const original = navigator.clipboard.writeText;
    navigator.clipboard.writeText = async (value: string) => {
      written.push(value);
    };
    try {
      button(el, 'Copy').click();
      await settle(el);
    } finally {
      navigator.clipboard.writeText = original;
    }
    expect(written).to.deep.equal([LINK]);
    expect(button(el, 'Copied')).to.be.instanceOf(HTMLButtonElement);
    expect(status(el)).to.equal('Link copied to the clipboard.');
    await expect(el).to.be.accessible();
  });

  it('falls back to copying the selection when the clipboard API refuses', async () => {
    const el = await sharer();
    await sharing(el);
    const commands: string[] = [];
    let selected = '';
    await copyRefused(el, (command) => {
      const input = $<HTMLInputElement>(el, 'input.link');
      selected = input.value.slice(input.selectionStart!, input.selectionEnd!);
      commands.push(command);
      return true;
    });
    expect(commands).to.deep.equal(['copy']);
    expect(selected).to.equal(LINK);
    expect(button(el, 'Copied')).to.be.instanceOf(HTMLButtonElement);
  });

  it('selects the link and explains when no way of copying works', async () => {
    const el = await sharer();
    await sharing(el);
    await copyRefused(el, () => false);
    const input = $<HTMLInputElement>(el, 'input.link');
    expect(el.shadowRoot!.activeElement).to.equal(input);
    expect(input.selectionEnd! - input.selectionStart!).to.equal(LINK.length);
    expect(text(el)).to.contain('press Ctrl+C');
    expect(button(el, 'Copy')).to.be.instanceOf(HTMLButtonElement);
  });

  it('shows Copy and no hint again for the next file', async () => {
    const el = await sharer();
    const first = await sharing(el);
    await copyRefused(el, () => false);
    expect(text(el)).to.contain('press Ctrl+C');
    expect(status(el)).to.equal('The link is selected: press Control C to copy it.');

    button(el, 'Stop sharing').click();
    await settle(el);
    button(el, 'Share another file').click();
    await settle(el);
    expect(first.disposed).to.equal(1);
    pick(el, makeFile('next.txt', 'next'));
    await waitUntil(() => fakes.shares.length === 2, 'no second share session was created');
    fakes.shares[1]!.ready(LINK);
    await settle(el);
    expect(text(el)).not.to.contain('press Ctrl+C');
    expect(button(el, 'Copy')).to.be.instanceOf(HTMLButtonElement);
    await expect(el).to.be.accessible();
  });

  it('lists each recipient with its status and forwards progress and completion', async () => {
    const el = await sharer();
    const session = await sharing(el, makeFile('movie.mp4', new Uint8Array(1000), 'video/mp4'));
    const peer = (p: Partial<PeerView> & Pick<PeerView, 'peerId' | 'status'>): PeerView => ({
      bytes: 0,
      total: 1000,
      speed: 0,
      ...p,
    });
    session.set({
      phase: 'sharing',
      file: session.file,
      link: LINK,
      peers: [
        peer({ peerId: 'p1', status: 'connecting' }),
        peer({ peerId: 'p2', status: 'transferring', bytes: 420, speed: 2_500_000 }),
        peer({ peerId: 'p3', status: 'done', bytes: 1000 }),
        peer({
          peerId: 'p4',
          status: 'failed',
          error: { code: 'peer-vanished', reason: 'closed' },
        }),
      ],
      uploaded: 1420,
      swarm: null,
    });
    await el.updateComplete;

    const items = [...el.shadowRoot!.querySelectorAll('li.peer')].map((li) =>
      li.textContent!.replace(/\s+/g, ' ').trim(),
    );
    expect(items).to.deep.equal([
      'Recipient 1 Connecting…',
      'Recipient 2 42% 2.5 MB/s',
      'Recipient 3 Done',
      'Recipient 4 Failed: The other browser closed the connection.',
    ]);
    expect($<HTMLProgressElement>(el, 'li.peer progress').value).to.equal(420);
    expect(status(el)).to.contain('4 recipients: 1 connecting, 1 downloading, 1 done, 1 failed.');
    await expect(el).to.be.accessible();
    const peerFailure = {
      code: 'peer-vanished',
      reason: 'closed',
      message: 'The other browser closed the connection.',
      peer: 'p4',
    };
    expect(events.of('p2p-share-error')).to.deep.equal([peerFailure]);
    session.set({ ...session.state });
    expect(events.of('p2p-share-error'), 'a failed peer is reported once').to.have.length(1);

    session.progress({ bytes: 500, total: 1000, peer: 'p2' });
    const sha256 = 'ab'.repeat(32);
    session.complete({ name: 'movie.mp4', originalName: 'movie.mp4', size: 1000, sha256 });
    expect(events.of('p2p-share-progress')).to.deep.equal([
      { bytes: 500, total: 1000, peer: 'p2' },
    ]);
    expect(events.of('p2p-share-complete')).to.deep.equal([
      { name: 'movie.mp4', originalName: 'movie.mp4', size: 1000, sha256 },
    ]);
    expect(events.events.every((e) => e.composed)).to.equal(true);
  });

  it('stops sharing, then offers to share another file', async () => {
    const el = await sharer();
    const session = await sharing(el);
    button(el, 'Stop sharing').click();
    await settle(el);
    expect(session.stops).to.equal(1);
    expect(text(el)).to.contain('Stopped sharing');
    expect(el.link).to.equal('');
    await expect(el).to.be.accessible();

    button(el, 'Share another file').click();
    await settle(el);
    expect(session.disposed).to.equal(1);
    expect(text(el)).to.contain('Drop a file here');
    expect(events.of('p2p-share-error')).to.deep.equal([]);
  });

  it('does not report stopping during preparation as an error', async () => {
    const el = await sharer();
    pick(el, makeFile('big.iso', new Uint8Array(10)));
    await waitUntil(() => fakes.shares.length === 1);
    await settle(el);
    button(el, 'Stop sharing').click();
    await settle(el);
    expect(fakes.shares[0]!.stops).to.equal(1);
    expect(text(el)).to.contain('Stopped sharing');
    expect(events.of('p2p-share-error')).to.deep.equal([]);
  });

  it('shows and fires a failure once when the session both fires and rejects', async () => {
    const el = await sharer();
    const pending = el.share(makeFile('a.txt', 'a'));
    await waitUntil(() => fakes.shares.length === 1);
    const error = {
      code: 'server-unreachable',
      reason: 'unreachable',
      host: 'share.example',
    } as const;
    fakes.shares[0]!.fail(error);
    const rejection = await pending.then(
      () => null,
      (err: unknown) => err,
    );
    await settle(el);
    expect(rejection).to.include({ code: 'server-unreachable' });
    const message =
      'Could not reach the sharing service at share.example. Check your connection and try again.';
    expect(events.of('p2p-share-error')).to.deep.equal([{ ...error, message }]);
    const alert = $(el, '[role="alert"]');
    expect(alert.textContent).to.contain('Cannot reach the sharing service');
    expect(alert.textContent).to.contain(message);
    expect(button(el, 'Share another file')).to.be.instanceOf(HTMLButtonElement);
    await expect(el).to.be.accessible();
  });

  it('reports a rejection that came without an error event, once', async () => {
    const el = await sharer();
    const pending = el.share(makeFile('a.txt', 'a'));
    await waitUntil(() => fakes.shares.length === 1);
    fakes.shares[0]!.fail({ code: 'rate-limited', retryAfterMs: 12_000 }, { event: false });
    await pending.catch(() => {});
    await settle(el);
    expect(events.of('p2p-share-error')).to.deep.equal([
      {
        code: 'rate-limited',
        retryAfterMs: 12_000,
        message: 'Too many tries. Wait 12 sec and try again.',
      },
    ]);
  });

  it('reports a failure while sharing (event only) once', async () => {
    const el = await sharer();
    const session = await sharing(el);
    session.fail({ code: 'room-closed', reason: 'expired' }, { reject: false });
    await settle(el);
    expect(events.of('p2p-share-error')).to.deep.equal([
      {
        code: 'room-closed',
        reason: 'expired',
        message: 'This share expired on the sharing service. Share the file again for a new link.',
      },
    ]);
    expect($(el, '[role="alert"]').textContent).to.contain('Sharing has ended');
  });

  it('refuses several files with a bad-request error and keeps the drop zone', async () => {
    const el = await sharer();
    const err = await el.share([makeFile('a', 'a'), makeFile('b', 'b')]).then(
      () => null,
      (e: unknown) => e,
    );
    await settle(el);
    expect(err).to.include({ code: 'bad-request' });
    expect(fakes.shares).to.have.length(0);
    const errors = events.of('p2p-share-error');
    expect(errors).to.have.length(1);
    expect(errors[0]!.code).to.equal('bad-request');
    expect(errors[0]!.message).to.contain('one file');
    expect($(el, '[role="alert"]').textContent).to.contain('one file');
    expect(text(el)).to.contain('Drop a file here');
    await expect(el).to.be.accessible();
  });

  it('refuses download() on the sharing side', async () => {
    const el = await sharer();
    const err = await el.download().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.include({ code: 'bad-request' });
    expect(events.of('p2p-share-error').map((e) => e.code)).to.deep.equal(['bad-request']);
  });

  it('stopping on removal: disposes of the session when the element leaves the page', async () => {
    const el = await sharer();
    const session = await sharing(el);
    el.remove();
    expect(session.disposed).to.equal(1);
  });

  it('says plainly that an insecure page cannot share, once', async () => {
    const own = Object.getOwnPropertyDescriptor(window, 'isSecureContext');
    Object.defineProperty(window, 'isSecureContext', { value: false, configurable: true });
    try {
      const el = await sharer();
      await settle(el);
      expect($(el, '[role="alert"]').textContent).to.contain('This page is not secure');
      expect(events.of('p2p-share-error').map((e) => e.code)).to.deep.equal(['insecure-context']);
      expect(maybe(el, '.dropzone')).to.equal(null);
      await expect(el).to.be.accessible();
    } finally {
      if (own) Object.defineProperty(window, 'isSecureContext', own);
      else delete (window as { isSecureContext?: boolean }).isSecureContext;
    }
    expect(window.isSecureContext).to.equal(true);
  });

  it('stays accessible in dark mode, with its own dark colours', async () => {
    await emulateMedia({ colorScheme: 'dark' });
    try {
      const el = await sharer();
      await sharing(el);
      const base = getComputedStyle($(el, '.base'));
      expect(base.backgroundColor).to.equal('rgb(29, 31, 35)');
      await expect(el).to.be.accessible();
      fakes.shares[0]!.fail({ code: 'integrity', reason: 'remote' }, { reject: false });
      await settle(el);
      await expect(el).to.be.accessible();
    } finally {
      await emulateMedia({ colorScheme: 'light' });
    }
  });

  it('lets the page theme it through custom properties', async () => {
    const el = await fixture<P2PShareElement>(
      html`<p2p-share server=${SERVER} style="--p2p-share-accent: rgb(1, 2, 3)"></p2p-share>`,
    );
    const choose = button(el, 'Choose a file');
    expect(getComputedStyle(choose).backgroundColor).to.equal('rgb(1, 2, 3)');
    expect(choose.getAttribute('part')).to.equal('button choose-button');
  });

  it('drops its transitions when the user prefers reduced motion', async () => {
    const el = await sharer();
    expect(getComputedStyle($(el, '.dropzone')).transitionDuration).not.to.equal('0s');
    await emulateMedia({ reducedMotion: 'reduce' });
    try {
      expect(getComputedStyle($(el, '.dropzone')).transitionDuration).to.equal('0s');
      expect(getComputedStyle(button(el, 'Choose a file')).transitionDuration).to.equal('0s');
    } finally {
      await emulateMedia({ reducedMotion: 'no-preference' });
    }
  });

  it('shows a visible focus ring on keyboard focus', async () => {
    const el = await sharer();
    await sendKeys({ press: 'Tab' });
    const choose = button(el, 'Choose a file');
    expect(el.shadowRoot!.activeElement).to.equal(choose);
    const style = getComputedStyle(choose);
    expect(style.outlineStyle).to.equal('solid');
    expect(parseFloat(style.outlineWidth)).to.be.at.least(2);
  });
});
