/**
 * Passwords in <p2p-share> against scripted sessions: the sharer's optional password field (with
 * its Show/Hide button) and `share(files, { password })`; the recipient's locked state, its unlock
 * form, wrong and right passwords, the rate limit's countdown, and `download({ password })`.
 */
import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import '../../src/p2p-share.define.js';
import type { P2PShareElement } from '../../src/p2p-share.js';
import { randomId } from '../../protocol/ids.js';
import { P2PError } from '../../src/errors.js';
import { restoreSessions, useFakeSessions, type FakeReceiveSession, type Fakes } from './fakes.js';
import { $, button, isolated, makeFile, maybe, record, settle, status, text } from './helpers.js';

const SERVER = 'https://share.example/';
const LINK = `${location.origin}/page#p2p=AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB`;
const FILE = { name: 'contract-draft.pdf', size: 250_000, type: 'application/pdf' };
const SECRET_WORD = 'tangerine-otter-42';

/** Everything the widget's shadow tree holds as text, attribute or input value. */
function everything(el: P2PShareElement): string {
  const parts: string[] = [];
  for (const node of el.shadowRoot!.querySelectorAll('*')) {
    parts.push(node.textContent ?? '');
    for (const attr of node.attributes) parts.push(attr.value);
    if (node instanceof HTMLInputElement) parts.push(node.value);
  }
  return parts.join(' ');
}

function active(el: P2PShareElement): Element | null {
  return el.shadowRoot!.activeElement;
}

describe('<p2p-share> passwords: sharing', () => {
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

  function pick(el: P2PShareElement, file: File): void {
    const input = $<HTMLInputElement>(el, 'input[type="file"]');
    const transfer = new DataTransfer();
    transfer.items.add(file);
    input.files = transfer.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }

  it('offers an optional, labelled password field with a keyboard-reachable Show button', async () => {
    const el = await fixture<P2PShareElement>(html`<p2p-share server=${SERVER}></p2p-share>`);
    const input = $<HTMLInputElement>(el, '#share-password');
    expect(input.type).to.equal('password');
    expect(input.labels?.[0]?.textContent?.trim()).to.equal('Password (optional)');
    expect(input.autocomplete).to.equal('new-password');
    const reveal = button(el, 'Show');
    expect(reveal.getAttribute('aria-label')).to.equal('Show password');
    expect(reveal.getAttribute('aria-controls')).to.equal('share-password');
    await expect(el).to.be.accessible();

    // Tab order: Choose a file, the password, its Show button.
    await sendKeys({ press: 'Tab' });
    expect(active(el)).to.equal(button(el, 'Choose a file'));
    await sendKeys({ press: 'Tab' });
    expect(active(el)).to.equal(input);
    await sendKeys({ type: SECRET_WORD });
    await settle(el);
    expect(input.value).to.equal(SECRET_WORD);
    await sendKeys({ press: 'Tab' });
    expect(active(el)).to.equal(reveal);
    await sendKeys({ press: 'Enter' });
    await settle(el);
    expect(input.type, 'Show reveals the characters').to.equal('text');
    const hide = button(el, 'Hide');
    expect(hide.getAttribute('aria-label')).to.equal('Hide password');
    expect(input.value, 're-rendering keeps what was typed').to.equal(SECRET_WORD);
    await expect(el).to.be.accessible();
    await sendKeys({ press: 'Space' });
    await settle(el);
    expect(input.type).to.equal('password');
  });

  it('shares a picked file with the typed password, then says the link needs it without showing it', async () => {
    const el = await fixture<P2PShareElement>(html`<p2p-share server=${SERVER}></p2p-share>`);
    const input = $<HTMLInputElement>(el, '#share-password');
    input.focus();
    await sendKeys({ type: SECRET_WORD });
    button(el, 'Show').click();
    await settle(el);
    const file = makeFile('notes.txt', 'hello', 'text/plain');
    pick(el, file);
    await waitUntil(() => fakes.shares.length === 1, 'no share session was created');
    const session = fakes.shares[0]!;
    expect(session.calls[0]!.file).to.equal(file);
    expect(session.calls[0]!.options).to.deep.equal({ password: SECRET_WORD });
    session.ready(LINK);
    await settle(el);

    expect(text(el)).to.contain('The link needs the password you set');
    expect(text(el)).to.contain('Anyone with this link and the password can download');
    expect($(el, '[part="protected"]')).to.be.instanceOf(HTMLElement);
    expect(everything(el), 'the password is not in the widget').not.to.contain(SECRET_WORD);
    expect(status(el)).not.to.contain(SECRET_WORD);
    expect(maybe(el, '#share-password')).to.equal(null);
    await expect(el).to.be.accessible();

    // The next share starts with an empty field: the password is not kept for it.
    button(el, 'Stop sharing').click();
    await settle(el);
    button(el, 'Share another file').click();
    await settle(el);
    const again = $<HTMLInputElement>(el, '#share-password');
    expect(again.value).to.equal('');
    expect(again.type, 'hidden again').to.equal('password');
    pick(el, makeFile('plain.txt', 'x'));
    await waitUntil(() => fakes.shares.length === 2, 'the second share did not start');
    expect(fakes.shares[1]!.calls[0]!.options).to.deep.equal({});
    fakes.shares[1]!.ready(LINK);
    await settle(el);
    expect(maybe(el, '[part="protected"]')).to.equal(null);
    expect(text(el)).to.contain('Anyone with this link can download');
  });

  it('share(files, { password }) passes the password; share(files) makes an open share', async () => {
    const el = await fixture<P2PShareElement>(html`<p2p-share server=${SERVER}></p2p-share>`);
    const linked = el.share(makeFile('a.txt', 'a'), { password: SECRET_WORD });
    await waitUntil(() => fakes.shares.length === 1, 'no share session was created');
    expect(fakes.shares[0]!.calls[0]!.options).to.deep.equal({ password: SECRET_WORD });
    fakes.shares[0]!.ready(LINK);
    expect(await linked).to.equal(LINK);
    await settle(el);
    expect(maybe(el, '[part="protected"]')).to.be.instanceOf(HTMLElement);

    const open = el.share(makeFile('b.txt', 'b'), { password: '' });
    await waitUntil(() => fakes.shares.length === 2, 'the second share did not start');
    expect(fakes.shares[1]!.calls[0]!.options, 'an empty password is no password').to.deep.equal(
      {},
    );
    fakes.shares[1]!.ready(LINK);
    await open;
    await settle(el);
    expect(maybe(el, '[part="protected"]')).to.equal(null);
    expect(events.of('p2p-share-error')).to.deep.equal([]);
  });
});

describe('<p2p-share> passwords: receiving', () => {
  let fakes: Fakes;
  let events: ReturnType<typeof record>;

  beforeEach(() => {
    history.replaceState(null, '', `#p2p=${randomId()}.${randomId()}`);
    fakes = useFakeSessions();
    events = record();
  });

  afterEach(() => {
    events.stop();
    restoreSessions();
    history.replaceState(null, '', location.pathname + location.search);
  });

  async function locked(): Promise<[P2PShareElement, FakeReceiveSession]> {
    const el = await fixture<P2PShareElement>(html`<p2p-share server=${SERVER}></p2p-share>`);
    await waitUntil(() => fakes.receives.length === 1, 'no receive session was created');
    const session = fakes.receives[0]!;
    session.loadedLocked();
    await settle(el);
    return [el, session];
  }

  async function submit(el: P2PShareElement, password: string): Promise<void> {
    const input = $<HTMLInputElement>(el, '#unlock-password');
    input.focus();
    input.select();
    await sendKeys({ type: password });
    await sendKeys({ press: 'Enter' });
    await settle(el);
  }

  it('asks for the password with a labelled field and an Unlock button, and shows nothing else', async () => {
    const [el] = await locked();
    expect(text(el)).to.contain('This file is protected by a password.');
    const input = $<HTMLInputElement>(el, '#unlock-password');
    expect(input.type).to.equal('password');
    expect(input.labels?.[0]?.textContent?.trim()).to.equal('Password');
    expect(input.getAttribute('aria-describedby')).to.equal('locked-hint');
    const unlock = button(el, 'Unlock');
    expect(unlock.type).to.equal('submit');
    expect(unlock.disabled).to.equal(false);
    expect(maybe(el, '[part~="download-button"]')).to.equal(null);
    expect(maybe(el, '[part="file"]')).to.equal(null);
    expect(maybe(el, '[role="alert"]')).to.equal(null);
    expect(status(el)).to.equal('This file is protected by a password.');
    expect(events.of('p2p-share-error')).to.deep.equal([]);
    await expect(el).to.be.accessible();

    // Keyboard: the field, Show, Unlock.
    input.focus();
    await sendKeys({ press: 'Tab' });
    expect(active(el)).to.equal(button(el, 'Show'));
    await sendKeys({ press: 'Tab' });
    expect(active(el)).to.equal(unlock);
  });

  it('wrong password: says so inline and fires bad-password once; right password: the file', async () => {
    const [el, session] = await locked();
    await submit(el, 'guess');
    expect(session.unlocks, 'Enter submits').to.deep.equal(['guess']);
    expect(text(el)).to.contain('Checking the password…');

    session.failUnlock({ code: 'bad-password' });
    await settle(el);
    const alert = $(el, '[role="alert"]');
    expect(alert.textContent).to.contain('Wrong password');
    expect(alert.textContent).to.contain('That is not the password of this share.');
    expect(events.of('p2p-share-error')).to.deep.equal([
      { code: 'bad-password', message: 'That is not the password of this share.' },
    ]);
    const input = $<HTMLInputElement>(el, '#unlock-password');
    await waitUntil(() => active(el) === input, 'the field is not focused to retype');
    expect(input.selectionEnd! - input.selectionStart!, 'what was typed is selected').to.equal(5);
    expect(button(el, 'Unlock').disabled).to.equal(false);
    await expect(el).to.be.accessible();

    await submit(el, SECRET_WORD);
    expect(session.unlocks).to.deep.equal(['guess', SECRET_WORD]);
    session.unlocked(FILE);
    await settle(el);
    expect($(el, '.file-name').textContent).to.equal(FILE.name);
    expect(text(el)).to.contain('250 kB · application/pdf');
    expect(button(el, 'Download')).to.be.instanceOf(HTMLButtonElement);
    expect(maybe(el, '#unlock-password')).to.equal(null);
    expect(maybe(el, '[role="alert"]')).to.equal(null);
    expect(status(el)).to.equal(`${isolated(FILE.name)}, 250 kB, ready to download.`);
    expect(events.of('p2p-share-error'), 'no further error').to.have.length(1);
    await expect(el).to.be.accessible();
  });

  it('does not send an empty password', async () => {
    const [el, session] = await locked();
    button(el, 'Unlock').click();
    await settle(el);
    expect(session.unlocks).to.deep.equal([]);
    expect(active(el)).to.equal($(el, '#unlock-password'));
  });

  it('rate-limited: shows how long to wait, disables Unlock and counts down, then allows a try', async () => {
    const [el, session] = await locked();
    await submit(el, 'guess-6');
    session.failUnlock({ code: 'rate-limited', retryAfterMs: 2000 });
    await settle(el);
    const alert = $(el, '[role="alert"]');
    const message = 'Too many tries. Wait 2 sec and try again.';
    expect(alert.textContent).to.contain('Too many attempts');
    expect(alert.textContent).to.contain(message);
    expect(events.of('p2p-share-error')).to.deep.equal([
      { code: 'rate-limited', retryAfterMs: 2000, message },
    ]);
    const unlock = button(el, 'Unlock');
    expect(unlock.disabled).to.equal(true);
    expect($(el, '[part="wait"]').textContent).to.equal('You can try again in 2 sec.');
    await expect(el).to.be.accessible();

    // Enter does not submit while the only submit button is disabled.
    const input = $<HTMLInputElement>(el, '#unlock-password');
    input.focus();
    await sendKeys({ press: 'Enter' });
    await settle(el);
    expect(session.unlocks).to.deep.equal(['guess-6']);

    await waitUntil(
      () => $(el, '[part="wait"]').textContent === 'You can try again in 1 sec.',
      'the wait does not count down',
      { timeout: 2500 },
    );
    await waitUntil(() => !button(el, 'Unlock').disabled, 'Unlock stays disabled', {
      timeout: 2500,
    });
    expect(maybe(el, '[part="wait"]')).to.equal(null);
    expect(text(el)).to.contain('You can try the password again.');
    expect(status(el)).to.equal('You can try the password again.');
    await expect(el).to.be.accessible();

    await submit(el, SECRET_WORD);
    expect(session.unlocks).to.deep.equal(['guess-6', SECRET_WORD]);
    session.unlocked(FILE);
    await settle(el);
    expect(button(el, 'Download')).to.be.instanceOf(HTMLButtonElement);
  });

  it('rate-limited: counts down the wait the service gave, to the second', async () => {
    const [el, session] = await locked();
    await submit(el, 'guess-6');
    session.failUnlock({ code: 'rate-limited', retryAfterMs: 95_000 });
    await settle(el);
    expect($(el, '[role="alert"]').textContent).to.contain(
      'Too many tries. Wait 1 min 35 sec and try again.',
    );
    expect($(el, '[part="wait"]').textContent).to.equal('You can try again in 1 min 35 sec.');
    expect(events.of('p2p-share-error').map((e) => e.retryAfterMs)).to.deep.equal([95_000]);
    expect(button(el, 'Unlock').disabled).to.equal(true);
  });

  it('rate-limited without a known wait: says so, and leaves Unlock enabled', async () => {
    const [el, session] = await locked();
    await submit(el, 'guess-6');
    session.failUnlock({ code: 'rate-limited' });
    await settle(el);
    expect($(el, '[role="alert"]').textContent).to.contain(
      'Too many tries. Wait a moment and try again.',
    );
    expect(maybe(el, '[part="wait"]')).to.equal(null);
    expect(button(el, 'Unlock').disabled).to.equal(false);
  });

  it('download({ password }) unlocks, then downloads', async () => {
    const [el, session] = await locked();
    const pending = el.download({ password: SECRET_WORD });
    await waitUntil(() => session.unlocks.length === 1, 'download did not unlock first');
    expect(session.unlocks).to.deep.equal([SECRET_WORD]);
    expect(session.downloads).to.equal(0);
    session.unlocked(FILE);
    await waitUntil(() => session.downloads === 1, 'download did not start after unlocking');
    session.done('ab'.repeat(32));
    await pending;
    expect(events.of('p2p-share-complete')).to.have.length(1);
    expect(events.of('p2p-share-error')).to.deep.equal([]);
  });

  it('download() of a locked share without a password rejects with bad-password, once', async () => {
    const [el, session] = await locked();
    const err = await el.download().then(
      () => null,
      (e: unknown) => e,
    );
    await settle(el);
    expect(err).to.be.instanceOf(P2PError);
    expect(err).to.include({ code: 'bad-password' });
    expect((err as P2PError).params).to.deep.equal({ reason: 'missing' });
    expect(events.of('p2p-share-error')).to.deep.equal([
      { code: 'bad-password', reason: 'missing', message: 'This share needs its password.' },
    ]);
    expect(session.unlocks).to.deep.equal([]);
    expect(session.downloads).to.equal(0);
    expect($(el, '#unlock-password')).to.be.instanceOf(HTMLInputElement);
    await expect(el).to.be.accessible();
  });

  it('download({ password }) with a wrong password rejects with bad-password and stays locked', async () => {
    const [el, session] = await locked();
    const pending = el.download({ password: 'nope' }).then(
      () => null,
      (e: unknown) => e,
    );
    await waitUntil(() => session.unlocks.length === 1, 'download did not unlock first');
    session.failUnlock({ code: 'bad-password' });
    const err = await pending;
    await settle(el);
    expect(err).to.include({ code: 'bad-password' });
    expect(session.downloads).to.equal(0);
    expect(events.of('p2p-share-error').map((e) => e.code)).to.deep.equal(['bad-password']);
    expect($(el, '[role="alert"]').textContent).to.contain('Wrong password');
    expect($(el, '#unlock-password')).to.be.instanceOf(HTMLInputElement);
  });

  it('keeps the form up when the service cannot be reached, and tries again', async () => {
    const [el, session] = await locked();
    await submit(el, SECRET_WORD);
    const error = { code: 'server-unreachable', reason: 'timeout' } as const;
    session.failUnlockOutright(error);
    await settle(el);
    const message = 'The sharing service did not answer in time.';
    expect($(el, '[role="alert"]').textContent)
      .to.contain('Cannot reach the sharing service')
      .and.contain(message);
    expect(events.of('p2p-share-error')).to.deep.equal([{ ...error, message }]);
    expect(button(el, 'Unlock').disabled).to.equal(false);

    await submit(el, SECRET_WORD);
    expect(session.unlocks).to.have.length(2);
    expect(maybe(el, '[role="alert"]'), 'the old failure is not shown while trying').to.equal(null);
    session.unlocked(FILE);
    await settle(el);
    expect(button(el, 'Download')).to.be.instanceOf(HTMLButtonElement);
  });
});
