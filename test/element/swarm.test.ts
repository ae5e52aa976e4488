/**
 * The swarm as <p2p-share> shows it, against scripted sessions: a recipient's place in the queue,
 * several sources, the keep-sharing switch after Saved (mouse and keyboard), the `seeding` and
 * `upload-limit` attributes reaching the sessions, and the sharer's swarm summary.
 */
import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import { emulateMedia, sendKeys } from '@web/test-runner-commands';
import '../../src/p2p-share.define.js';
import type { P2PShareElement } from '../../src/p2p-share.js';
import { randomId } from '../../protocol/ids.js';
import type { ShareState } from '../../src/session/types.js';
import { restoreSessions, useFakeSessions, type FakeReceiveSession, type Fakes } from './fakes.js';
import { $, button, isolated, makeFile, maybe, settle, status, text } from './helpers.js';

const SERVER = 'https://share.example/';
const FILE = { name: 'lecture.mp4', size: 1_500_000, type: 'video/mp4' };
const SHA = 'fedcba9876543210'.repeat(4);
const LINK = `${location.origin}/page#p2p=AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB`;

describe('<p2p-share> in a swarm', () => {
  let fakes: Fakes;

  beforeEach(() => {
    fakes = useFakeSessions();
  });

  afterEach(() => {
    restoreSessions();
    history.replaceState(null, '', location.pathname + location.search);
  });

  describe('receiving', () => {
    beforeEach(() => {
      history.replaceState(null, '', `#p2p=${randomId()}.${randomId()}`);
    });

    async function recipient(
      attributes: { seeding?: string; uploadLimit?: string } = {},
    ): Promise<[P2PShareElement, FakeReceiveSession]> {
      const el = await fixture<P2PShareElement>(
        html`<p2p-share
          server=${SERVER}
          seeding=${attributes.seeding ?? 'on'}
          upload-limit=${attributes.uploadLimit ?? '0'}
        ></p2p-share>`,
      );
      await waitUntil(() => fakes.receives.length === 1, 'no receive session was created');
      const session = fakes.receives[0]!;
      session.loaded(FILE);
      await settle(el);
      return [el, session];
    }

    async function saved(
      attributes: { seeding?: string } = {},
    ): Promise<[P2PShareElement, FakeReceiveSession]> {
      const [el, session] = await recipient(attributes);
      button(el, 'Download').click();
      await settle(el);
      session.done(SHA);
      await settle(el);
      return [el, session];
    }

    function toggle(el: P2PShareElement): HTMLInputElement {
      return $<HTMLInputElement>(el, 'input[part="seeding-toggle"]');
    }

    it('shows its place in the queue, keeps it current, and keeps the bytes it has', async () => {
      const [el, session] = await recipient();
      button(el, 'Download').click();
      await settle(el);

      session.set({ phase: 'queued', file: FILE, bytes: 0, position: 3 });
      await el.updateComplete;
      expect($(el, '[part="queue"]').textContent!.trim()).to.equal(
        'Waiting for a free sender — you are number 3 in the queue.',
      );
      expect($<HTMLProgressElement>(el, 'progress').value).to.equal(0);
      expect(text(el)).to.contain('The download starts by itself when a sender is free.');
      expect(text(el)).not.to.contain('so far');
      expect(button(el, 'Cancel')).to.be.instanceOf(HTMLButtonElement);
      expect(status(el)).to.equal('Waiting for a free sender. You are number 3 in the queue.');
      await expect(el).to.be.accessible();

      session.set({ phase: 'queued', file: FILE, bytes: 0, position: 2 });
      await el.updateComplete;
      expect($(el, '[part="queue"]').textContent).to.contain('you are number 2 in the queue');
      expect(status(el), 'each step forward is not announced at once').to.equal(
        'Waiting for a free sender. You are number 3 in the queue.',
      );

      // A source left part-way: back in the queue with what was already verified.
      session.set({ phase: 'queued', file: FILE, bytes: 300_000, position: 1 });
      await el.updateComplete;
      expect($(el, '[part="queue"]').textContent).to.contain('you are next in the queue');
      expect($<HTMLProgressElement>(el, 'progress').value).to.equal(300_000);
      expect(text(el)).to.contain('300 kB of 1.5 MB · 20% so far.');

      button(el, 'Cancel').click();
      await settle(el);
      expect(session.cancels, 'Cancel leaves the queue').to.equal(1);
    });

    it('says how many browsers it downloads from when there are several', async () => {
      const [el, session] = await recipient();
      button(el, 'Download').click();
      await settle(el);
      const downloading = { phase: 'downloading', file: FILE, speed: 0, eta: null } as const;
      session.set({ ...downloading, bytes: 150_000, sources: 1 });
      await el.updateComplete;
      expect(text(el)).to.contain('150 kB of 1.5 MB · 10%');
      expect(text(el)).not.to.contain('browsers');
      session.set({ ...downloading, bytes: 750_000, sources: 3 });
      await el.updateComplete;
      expect(text(el)).to.contain('750 kB of 1.5 MB · 50% · from 3 browsers');
      expect(maybe(el, '[part="queue"]')).to.equal(null);
    });

    it('keeps sharing after Saved by default, and says with how many and how much', async () => {
      const [el, session] = await saved();
      expect(session.options.seed).to.equal(true);
      expect($(el, '[part="done"]').textContent).to.equal(`Saved ${FILE.name}`);
      const box = toggle(el);
      expect(box.type).to.equal('checkbox');
      expect(box.checked).to.equal(true);
      expect(box.closest('label')!.textContent!.trim()).to.equal(
        'Keep sharing with others while this page is open',
      );
      expect($(el, '[part="seeding-status"]').textContent!.trim()).to.equal(
        'Nobody is downloading from you right now · 0 bytes uploaded',
      );
      expect(status(el)).to.equal(
        `Saved ${isolated(FILE.name)}. You are sharing it with others while this page is open.`,
      );
      await expect(el).to.be.accessible();

      session.serving(2, 3_000_000);
      await el.updateComplete;
      expect($(el, '[part="seeding-status"]').textContent!.trim()).to.equal(
        'Sharing with 2 people · 3 MB uploaded',
      );
      session.serving(1, 4_500_000);
      await el.updateComplete;
      expect($(el, '[part="seeding-status"]').textContent!.trim()).to.equal(
        'Sharing with 1 person · 4.5 MB uploaded',
      );
      expect(session.seedings, 'nothing asked the session to change').to.deep.equal([]);
    });

    it('turns sharing off and on again from the keyboard (Tab, then Space)', async () => {
      const [el, session] = await saved();
      session.serving(1, 2_000_000);
      await el.updateComplete;
      const box = toggle(el);
      for (let i = 0; i < 3 && el.shadowRoot!.activeElement !== box; i++) {
        await sendKeys({ press: 'Tab' });
      }
      expect(el.shadowRoot!.activeElement, 'Tab reaches the switch').to.equal(box);
      expect(getComputedStyle(box).outlineStyle, 'with a visible focus ring').to.equal('solid');

      await sendKeys({ press: 'Space' });
      await settle(el);
      expect(session.seedings).to.deep.equal([false]);
      expect(toggle(el).checked).to.equal(false);
      expect($(el, '[part="seeding-status"]').textContent!.trim()).to.equal(
        'Not sharing · 2 MB uploaded',
      );
      expect(status(el)).to.equal(`Saved ${isolated(FILE.name)}.`);
      await expect(el).to.be.accessible();

      await sendKeys({ press: 'Space' });
      await settle(el);
      expect(session.seedings).to.deep.equal([false, true]);
      expect(toggle(el).checked).to.equal(true);
      expect(status(el)).to.contain('You are sharing it with others');
    });

    it('starts with sharing off under seeding="off", and a click turns it on', async () => {
      const [el, session] = await saved({ seeding: 'off' });
      expect(session.options.seed).to.equal(false);
      expect(toggle(el).checked).to.equal(false);
      expect($(el, '[part="seeding-status"]').textContent!.trim()).to.equal('Not sharing');
      expect(status(el)).to.equal(`Saved ${isolated(FILE.name)}.`);
      toggle(el).click();
      await settle(el);
      expect(session.seedings).to.deep.equal([true]);
      expect(toggle(el).checked).to.equal(true);
    });

    it('reads seeding="false" as off too, and anything unclear as on', async () => {
      const [, off] = await recipient({ seeding: 'FALSE' });
      expect(off.options.seed).to.equal(false);
      history.replaceState(null, '', `#p2p=${randomId()}.${randomId()}`);
      fakes.receives.length = 0;
      const [, on] = await recipient({ seeding: 'of' });
      expect(on.options.seed).to.equal(true);
    });

    it("shows the session's choice when the session keeps the old one", async () => {
      const [el, session] = await saved();
      const asked: boolean[] = [];
      session.setSeeding = (on: boolean) => {
        asked.push(on);
      };
      toggle(el).click();
      await settle(el);
      expect(asked).to.deep.equal([false]);
      expect(toggle(el).checked, 'the box follows the state, not the click').to.equal(true);
    });

    it('stays accessible in dark mode while sharing after Saved', async () => {
      await emulateMedia({ colorScheme: 'dark' });
      try {
        const [el, session] = await saved();
        session.serving(3, 9_000_000);
        await el.updateComplete;
        await expect(el).to.be.accessible();
      } finally {
        await emulateMedia({ colorScheme: 'light' });
      }
    });

    it('passes upload-limit to the session, and reads a bad one as no limit', async () => {
      const [, limited] = await recipient({ uploadLimit: '1048576' });
      expect(limited.options.uploadLimit).to.equal(1_048_576);
      for (const bad of ['-5', 'fast', '']) {
        history.replaceState(null, '', `#p2p=${randomId()}.${randomId()}`);
        fakes.receives.length = 0;
        const [, session] = await recipient({ uploadLimit: bad });
        expect(session.options.uploadLimit, `upload-limit="${bad}"`).to.equal(0);
      }
    });
  });

  describe('sharing', () => {
    beforeEach(() => {
      history.replaceState(null, '', location.pathname + location.search);
    });

    async function sharing(uploadLimit = '0') {
      const el = await fixture<P2PShareElement>(
        html`<p2p-share server=${SERVER} upload-limit=${uploadLimit}></p2p-share>`,
      );
      const pending = el.share(makeFile('talk.pdf', new Uint8Array(1000), 'application/pdf'));
      await waitUntil(() => fakes.shares.length === 1, 'no share session was created');
      const session = fakes.shares[0]!;
      session.ready(LINK);
      await pending;
      await settle(el);
      return { el, session };
    }

    function summary(el: P2PShareElement): string[] {
      return [...$(el, '[part="swarm"]').querySelectorAll('.swarm-count')].map((item) =>
        item.textContent!.replace(/\s+/g, ' ').trim(),
      );
    }

    it('passes upload-limit to the share session', async () => {
      const { session } = await sharing('250000');
      expect(session.options).to.deep.equal({
        server: SERVER,
        uploadLimit: 250_000,
        relayOnly: false,
      });
    });

    it('shows no swarm until the service reports one', async () => {
      const { el } = await sharing();
      expect(maybe(el, '[part="swarm"]')).to.equal(null);
      expect(maybe(el, '[part="uploaded"]')).to.equal(null);
      expect(text(el)).to.contain('Waiting for someone to open the link');
    });

    it('summarises the swarm and what was uploaded against what was delivered', async () => {
      const { el, session } = await sharing();
      const sharingState = session.state as Extract<ShareState, { phase: 'sharing' }>;
      session.set({
        ...sharingState,
        uploaded: 2500,
        swarm: { seeds: 2, downloading: 3, queued: 1, finished: 4 },
      });
      await el.updateComplete;
      expect(summary(el)).to.deep.equal(['Sharing 2', 'Downloading 3', 'Waiting 1', 'Finished 4']);
      expect($(el, '[part="uploaded"]').textContent!.trim()).to.equal(
        'You uploaded 2.5 kB · 4 kB delivered in all (4 complete copies)',
      );
      expect(status(el)).to.equal('Link ready. 2 sharing, 3 downloading, 1 waiting, 4 finished.');
      expect(text(el), 'seeds serve those recipients: nobody is waiting').not.to.contain(
        'Waiting for someone',
      );
      expect(button(el, 'Stop sharing')).to.be.instanceOf(HTMLButtonElement);
      await expect(el).to.be.accessible();

      session.set({
        ...sharingState,
        uploaded: 600,
        swarm: { seeds: 1, downloading: 1, queued: 0, finished: 0 },
      });
      await el.updateComplete;
      expect(summary(el)).to.deep.equal(['Sharing 1', 'Downloading 1', 'Waiting 0', 'Finished 0']);
      expect($(el, '[part="uploaded"]').textContent!.trim()).to.equal(
        'You uploaded 600 bytes · no complete copy delivered yet',
      );
    });

    it('stays accessible in dark mode with the swarm shown', async () => {
      await emulateMedia({ colorScheme: 'dark' });
      try {
        const { el, session } = await sharing();
        const sharingState = session.state as Extract<ShareState, { phase: 'sharing' }>;
        session.set({
          ...sharingState,
          uploaded: 5000,
          swarm: { seeds: 3, downloading: 2, queued: 4, finished: 6 },
        });
        await el.updateComplete;
        await expect(el).to.be.accessible();
      } finally {
        await emulateMedia({ colorScheme: 'light' });
      }
    });

    it('shows its own uploads before the first swarm report', async () => {
      const { el, session } = await sharing();
      const sharingState = session.state as Extract<ShareState, { phase: 'sharing' }>;
      session.set({ ...sharingState, uploaded: 1_200_000 });
      await el.updateComplete;
      expect(maybe(el, '[part="swarm"]')).to.equal(null);
      expect($(el, '[part="uploaded"]').textContent!.trim()).to.equal('You uploaded 1.2 MB');
    });
  });
});
