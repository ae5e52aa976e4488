/**
 * The sharer's `beforeunload` prompt: leaving the page asks first only while a recipient is
 * downloading from it, and never once the share stopped or the element left the page.
 */
import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import '../../src/p2p-share.define.js';
import type { P2PShareElement } from '../../src/p2p-share.js';
import type { PeerStatus } from '../../src/session/types.js';
import { restoreSessions, useFakeSessions, type FakeShareSession, type Fakes } from './fakes.js';
import { button, makeFile, settle } from './helpers.js';

const SERVER = 'https://share.example/';
const LINK = `${location.origin}/page#p2p=AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB`;

/** Whether leaving the page now would ask first: a listener cancelled `beforeunload`. */
function asksToStay(): boolean {
  const event = new Event('beforeunload', { cancelable: true });
  window.dispatchEvent(event);
  return event.defaultPrevented;
}

describe('<p2p-share> asks the sharer to keep the tab open', () => {
  let fakes: Fakes;

  beforeEach(() => {
    history.replaceState(null, '', location.pathname + location.search);
    fakes = useFakeSessions();
  });

  afterEach(() => restoreSessions());

  async function sharing(): Promise<{ el: P2PShareElement; session: FakeShareSession }> {
    const el = await fixture<P2PShareElement>(html`<p2p-share server=${SERVER}></p2p-share>`);
    const input = el.shadowRoot!.querySelector<HTMLInputElement>('input[type="file"]')!;
    const transfer = new DataTransfer();
    transfer.items.add(makeFile('notes.txt', 'hello', 'text/plain'));
    input.files = transfer.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
    await waitUntil(() => fakes.shares.length === 1, 'no share session was created');
    const session = fakes.shares[0]!;
    session.ready(LINK);
    await settle(el);
    return { el, session };
  }

  function recipients(session: FakeShareSession, ...statuses: PeerStatus[]): void {
    session.set({
      phase: 'sharing',
      file: session.file,
      link: LINK,
      peers: statuses.map((status, i) => ({
        peerId: `p${i}`,
        status,
        bytes: 0,
        total: 5,
        speed: 0,
      })),
      uploaded: 0,
      swarm: null,
    });
  }

  it('only while a recipient is downloading', async () => {
    const { el, session } = await sharing();
    expect(asksToStay(), 'no recipient yet').to.equal(false);
    recipients(session, 'connecting', 'failed');
    expect(asksToStay(), 'none connected').to.equal(false);
    recipients(session, 'done', 'transferring');
    expect(asksToStay(), 'one downloading').to.equal(true);
    expect(asksToStay(), 'asked again on the next try').to.equal(true);
    recipients(session, 'done', 'done');
    expect(asksToStay(), 'all done').to.equal(false);
    await expect(el).to.be.accessible();
  });

  it('not after the share stopped', async () => {
    const { el, session } = await sharing();
    recipients(session, 'transferring');
    expect(asksToStay()).to.equal(true);
    button(el, 'Stop sharing').click();
    await settle(el);
    expect(session.stops).to.equal(1);
    expect(asksToStay()).to.equal(false);
  });

  it('not after the element left the page', async () => {
    const { el, session } = await sharing();
    recipients(session, 'transferring');
    expect(asksToStay()).to.equal(true);
    el.remove();
    expect(asksToStay()).to.equal(false);
  });
});
