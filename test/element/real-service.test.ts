/**
 * <p2p-share> against the real transfer engine and the real signalling service (started by
 * web-test-runner.config.mjs on another origin): a dropped file creates a real room and link, a
 * recipient on the same page reads the sealed metadata back over REST, a password share stays
 * locked until its password is given, and stopping deletes the room. WebRTC between two browsers
 * is e2e/'s job.
 */
import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import '../../src/p2p-share.define.js';
import { parseLink } from '../../src/crypto/link.js';
import type { P2PShareElement } from '../../src/p2p-share.js';
import { randomId } from '../../protocol/ids.js';
import { $, button, maybe, record, settle, text } from './helpers.js';
import { serviceUrl } from '../service-url.js';

describe('<p2p-share> with the real service', () => {
  let events: ReturnType<typeof record>;
  let server: string;

  before(async () => {
    server = await serviceUrl();
  });

  beforeEach(() => {
    history.replaceState(null, '', location.pathname + location.search);
    events = record();
  });

  afterEach(() => {
    events.stop();
    history.replaceState(null, '', location.pathname + location.search);
  });

  it('creates a room for a dropped file, shows its link, and deletes the room on stop', async () => {
    expect(new URL(server).origin, 'the service runs on another origin').not.to.equal(
      location.origin,
    );
    const sharer = await fixture<P2PShareElement>(html`<p2p-share server=${server}></p2p-share>`);
    const bytes = new Uint8Array(300_000);
    for (let at = 0; at < bytes.length; at += 65_536) {
      crypto.getRandomValues(bytes.subarray(at, at + 65_536));
    }
    const file = new File([bytes], 'secret-plans.pdf', { type: 'application/pdf' });
    const transfer = new DataTransfer();
    transfer.items.add(file);

    const linked = oneEvent(sharer, 'p2p-share-link');
    $(sharer, '.dropzone').dispatchEvent(
      new DragEvent('drop', { dataTransfer: transfer, cancelable: true, bubbles: true }),
    );
    const failed = oneEvent(sharer, 'p2p-share-error').then((e) => {
      throw new Error(`sharing failed: ${e.detail.code}: ${e.detail.message}`);
    });
    const { link } = (await Promise.race([linked, failed])).detail;
    await settle(sharer);

    const secret = parseLink(link);
    expect(secret, `not a share link: ${link}`).to.not.equal(null);
    expect(link.startsWith(`${location.href.split('#')[0]}#p2p=`)).to.equal(true);
    expect(sharer.link).to.equal(link);
    expect($<HTMLInputElement>(sharer, 'input.link').value).to.equal(link);

    const room = await fetch(new URL(`rooms/${secret!.roomId}`, server));
    expect(room.status).to.equal(200);
    const info = (await room.json()) as { roomId: string };
    expect(info.roomId).to.equal(secret!.roomId);
    expect(JSON.stringify(info), 'the service must not learn the name').not.to.contain('secret');
    await expect(sharer).to.be.accessible();

    // A recipient opening the link reads the sealed metadata back through the real service.
    history.replaceState(null, '', link);
    const recipient = await fixture<P2PShareElement>(
      html`<p2p-share server=${server}></p2p-share>`,
    );
    await waitUntil(
      () => recipient.shadowRoot!.querySelector('[part~="download-button"]'),
      `the recipient never became ready: ${text(recipient)}`,
      { timeout: 8000 },
    );
    expect(text(recipient)).to.contain('secret-plans.pdf');
    expect(text(recipient)).to.contain('300 kB · application/pdf');
    await expect(recipient).to.be.accessible();
    recipient.remove();

    button(sharer, 'Stop sharing').click();
    await waitUntil(() => text(sharer).includes('Stopped sharing'), 'sharing did not stop');
    const gone = await fetch(new URL(`rooms/${secret!.roomId}`, server));
    expect(gone.status).to.equal(404);
    expect(events.of('p2p-share-error')).to.deep.equal([]);
  });

  it('locks a password share: nothing about the file until the right password', async () => {
    const sharer = await fixture<P2PShareElement>(html`<p2p-share server=${server}></p2p-share>`);
    const password = `pw-${randomId()}`;
    const file = new File(['quarterly numbers'], 'merger-terms.xlsx', {
      type: 'application/vnd.ms-excel',
    });
    const link = await sharer.share(file, { password });
    await settle(sharer);
    expect(text(sharer)).to.contain('The link needs the password you set');
    expect(sharer.shadowRoot!.innerHTML).not.to.contain(password);
    const secret = parseLink(link)!;

    // What anyone with the link alone can learn from the service: that a password is needed.
    const res = await fetch(new URL(`rooms/${secret.roomId}`, server));
    expect(res.status).to.equal(200);
    const info = (await res.json()) as Record<string, unknown>;
    expect(info.passwordRequired).to.equal(true);
    expect(info, 'no sealed metadata without the password').not.to.have.property('meta');
    expect(JSON.stringify(info)).not.to.contain('merger');

    history.replaceState(null, '', link);
    const recipient = await fixture<P2PShareElement>(
      html`<p2p-share server=${server}></p2p-share>`,
    );
    await waitUntil(
      () => maybe(recipient, '#unlock-password'),
      `the recipient never asked for the password: ${text(recipient)}`,
      { timeout: 8000 },
    );
    expect(text(recipient)).to.contain('This file is protected by a password.');
    expect(recipient.shadowRoot!.innerHTML).not.to.contain('merger');
    expect(maybe(recipient, '[part~="download-button"]')).to.equal(null);
    await expect(recipient).to.be.accessible();

    const input = $<HTMLInputElement>(recipient, '#unlock-password');
    input.value = 'not the password';
    const refused = oneEvent(recipient, 'p2p-share-error');
    button(recipient, 'Unlock').click();
    expect((await refused).detail.code).to.equal('bad-password');
    await waitUntil(() => maybe(recipient, '[role="alert"]'), 'the wrong password is not shown');
    expect($(recipient, '[role="alert"]').textContent).to.contain('Wrong password');
    expect(recipient.shadowRoot!.innerHTML).not.to.contain('merger');
    await expect(recipient).to.be.accessible();

    input.value = password;
    button(recipient, 'Unlock').click();
    await waitUntil(
      () => maybe(recipient, '[part~="download-button"]'),
      `the right password did not open the share: ${text(recipient)}`,
      { timeout: 8000 },
    );
    expect($(recipient, '.file-name').textContent).to.equal('merger-terms.xlsx');
    expect(text(recipient)).to.contain('17 bytes · application/vnd.ms-excel');
    expect(events.of('p2p-share-error').map((e) => e.code)).to.deep.equal(['bad-password']);
    await expect(recipient).to.be.accessible();
    recipient.remove();

    button(sharer, 'Stop sharing').click();
    await waitUntil(() => text(sharer).includes('Stopped sharing'), 'sharing did not stop');
  });

  it('explains a link to a room the service does not know, once', async () => {
    history.replaceState(null, '', `#p2p=${randomId()}.${randomId()}`);
    const el = await fixture<P2PShareElement>(html`<p2p-share server=${server}></p2p-share>`);
    await waitUntil(
      () => el.shadowRoot!.querySelector('[role="alert"]'),
      `no error shown: ${text(el)}`,
      { timeout: 8000 },
    );
    expect($(el, '[role="alert"]').textContent).to.contain('This link has expired');
    const errors = events.of('p2p-share-error');
    expect(errors.map((e) => e.code)).to.deep.equal(['room-not-found']);
    expect(errors[0]!.message.length).to.be.greaterThan(0);
    await expect(el).to.be.accessible();
  });
});
