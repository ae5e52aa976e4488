import { expect } from '@open-wc/testing';
import {
  formatBytes,
  formatDuration,
  formatSpeed,
  peersSummary,
  percent,
  queueLine,
  receiveAnnouncement,
  seedingLine,
  shareAnnouncement,
  shortHash,
  sourcesLine,
  swarmSummary,
  uploadedLine,
  waitLine,
} from './text.js';
import { waitFromMessage } from '../controllers/receive-controller.js';

describe('widget text', () => {
  it('writes sizes in decimal units, as file managers do', () => {
    expect(formatBytes(0)).to.equal('0 bytes');
    expect(formatBytes(1)).to.equal('1 byte');
    expect(formatBytes(999)).to.equal('999 bytes');
    expect(formatBytes(1000)).to.equal('1 kB');
    expect(formatBytes(1500)).to.equal('1.5 kB');
    expect(formatBytes(999_960)).to.equal('1 MB');
    expect(formatBytes(64 * 1024 * 1024)).to.equal('67 MB');
    expect(formatBytes(3.2e12)).to.equal('3.2 TB');
    expect(formatBytes(-1)).to.equal('');
    expect(formatSpeed(0)).to.equal('');
    expect(formatSpeed(2_500_000)).to.equal('2.5 MB/s');
  });

  it('writes durations briefly', () => {
    expect(formatDuration(0.4)).to.equal('0 s');
    expect(formatDuration(59)).to.equal('59 s');
    expect(formatDuration(60)).to.equal('1 min');
    expect(formatDuration(125)).to.equal('2 min 5 s');
    expect(formatDuration(3600)).to.equal('1 h');
    expect(formatDuration(3780)).to.equal('1 h 3 min');
  });

  it('never says 100% before the last byte, and handles empty files', () => {
    expect(percent(999, 1000)).to.equal(99);
    expect(percent(1000, 1000)).to.equal(100);
    expect(percent(0, 0)).to.equal(100);
    expect(percent(0, 10)).to.equal(0);
  });

  it('shortens a hash to its ends and summarises recipients', () => {
    expect(shortHash('a'.repeat(28) + 'b'.repeat(28) + 'c'.repeat(8))).to.equal(
      'aaaaaaaa…cccccccc',
    );
    expect(peersSummary([])).to.equal('Waiting for someone to open the link.');
    expect(peersSummary([{ peerId: 'a', status: 'done', bytes: 1, total: 1, speed: 0 }])).to.equal(
      '1 recipient: 1 done.',
    );
  });

  it('leaves failures to the alert and names a cancel', () => {
    const error = { code: 'integrity', message: 'Damaged.' } as const;
    expect(receiveAnnouncement({ phase: 'error', error, retryable: true, bytes: 0 })).to.deep.equal(
      ['', ''],
    );
    expect(
      receiveAnnouncement({
        phase: 'error',
        error: { code: 'cancelled', message: '' },
        retryable: true,
        bytes: 0,
      })[0],
    ).to.equal('Download cancelled.');
  });

  it('announces a locked share, leaves a wrong password to the alert, and the end of a wait', () => {
    expect(receiveAnnouncement({ phase: 'locked' })).to.deep.equal([
      'This file is protected by a password.',
      '',
    ]);
    const wrong = { code: 'bad-password', message: 'Wrong.' } as const;
    expect(receiveAnnouncement({ phase: 'locked', error: wrong })).to.deep.equal(['', '']);
    const limited = { code: 'rate-limited', message: 'Wait 5 seconds.' } as const;
    expect(receiveAnnouncement({ phase: 'locked', error: limited }, 4)).to.deep.equal(['', '']);
    expect(receiveAnnouncement({ phase: 'locked', error: limited }, null)).to.deep.equal(['', '']);
    expect(receiveAnnouncement({ phase: 'locked', error: limited }, 0)[0]).to.equal(
      'You can try the password again.',
    );
    expect(waitLine(12)).to.equal('You can try again in 12 s.');
    expect(waitLine(125)).to.equal('You can try again in 2 min 5 s.');
  });

  it("reads the wait out of the engine's rate-limited message", () => {
    expect(waitFromMessage('Too many tries. Wait 12 seconds and try again.')).to.equal(12);
    expect(waitFromMessage('Too many tries. Wait 1 second and try again.')).to.equal(1);
    expect(waitFromMessage('Too many tries. Wait 3 minutes and try again.')).to.equal(180);
    expect(waitFromMessage('Too many password tries for this share.')).to.equal(null);
  });

  it('says where a queued recipient stands and how many browsers it fetches from', () => {
    expect(queueLine(1)).to.equal('Waiting for a free sender — you are next in the queue.');
    expect(queueLine(4)).to.equal('Waiting for a free sender — you are number 4 in the queue.');
    expect(sourcesLine(0)).to.equal('');
    expect(sourcesLine(1)).to.equal('');
    expect(sourcesLine(2)).to.equal('from 2 browsers');
    const file = { name: 'a.iso', size: 10, type: '' };
    expect(receiveAnnouncement({ phase: 'queued', file, bytes: 0, position: 2 })).to.deep.equal([
      'Waiting for a free sender.',
      'You are number 2 in the queue.',
    ]);
  });

  it("describes a finished recipient's sharing, and announces only that it shares and with whom", () => {
    expect(seedingLine({ on: true, serving: 0, uploaded: 0 })).to.equal(
      'Nobody is downloading from you right now · 0 bytes uploaded',
    );
    expect(seedingLine({ on: true, serving: 1, uploaded: 1 })).to.equal(
      'Sharing with 1 person · 1 byte uploaded',
    );
    expect(seedingLine({ on: true, serving: 3, uploaded: 2_000_000 })).to.equal(
      'Sharing with 3 people · 2 MB uploaded',
    );
    expect(seedingLine({ on: false, serving: 0, uploaded: 0 })).to.equal('Not sharing');
    expect(seedingLine({ on: false, serving: 0, uploaded: 5000 })).to.equal(
      'Not sharing · 5 kB uploaded',
    );
    const file = { name: 'a.iso', size: 10, type: '' };
    const done = (on: boolean, serving: number, uploaded: number) =>
      receiveAnnouncement({ phase: 'done', file, sha256: '', seeding: { on, serving, uploaded } });
    expect(done(true, 0, 0)).to.deep.equal([
      'Saved a.iso. You are sharing it with others while this page is open.',
      '',
    ]);
    expect(done(true, 2, 999)).to.deep.equal([
      'Saved a.iso. You are sharing it with others while this page is open.',
      'Sharing with 2 people.',
    ]);
    expect(done(true, 2, 5000), 'bytes uploaded are no news').to.deep.equal(done(true, 2, 999));
    expect(done(false, 0, 999)).to.deep.equal(['Saved a.iso.', '']);
  });

  it('counts only whole copies as delivered', () => {
    const swarm = { seeds: 3, downloading: 2, queued: 5, finished: 7 };
    expect(swarmSummary(swarm)).to.equal('3 sharing, 2 downloading, 5 waiting, 7 finished.');
    expect(uploadedLine(0, null, 100)).to.equal('You uploaded 0 bytes');
    expect(uploadedLine(2_000_000, swarm, 1_000_000)).to.equal(
      'You uploaded 2 MB · 7 MB delivered in all (7 complete copies)',
    );
    expect(uploadedLine(1_000_000, { ...swarm, finished: 1 }, 1_000_000)).to.equal(
      'You uploaded 1 MB · 1 MB delivered in all (1 complete copy)',
    );
    expect(uploadedLine(10, { ...swarm, finished: 0 }, 1_000_000)).to.equal(
      'You uploaded 10 bytes · no complete copy delivered yet',
    );
  });

  it("announces the sharer's swarm as progress, and no waiting once seeds serve someone", () => {
    const file = { name: 'a.iso', size: 10, type: '' };
    const sharing = { phase: 'sharing' as const, file, link: 'x', peers: [], uploaded: 0 };
    expect(shareAnnouncement({ ...sharing, swarm: null })).to.deep.equal([
      'Link ready. Waiting for someone to open the link.',
      '',
    ]);
    const quiet = { seeds: 1, downloading: 0, queued: 0, finished: 0 };
    expect(shareAnnouncement({ ...sharing, swarm: quiet })).to.deep.equal([
      'Link ready. Waiting for someone to open the link.',
      '1 sharing, 0 downloading, 0 waiting, 0 finished.',
    ]);
    expect(
      shareAnnouncement({ ...sharing, swarm: { ...quiet, seeds: 2, finished: 1 } }),
    ).to.deep.equal(['Link ready.', '2 sharing, 0 downloading, 0 waiting, 1 finished.']);
  });
});
