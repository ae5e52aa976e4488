import { expect } from '@open-wc/testing';
import {
  formatBytes,
  formatDuration,
  formatSpeed,
  peersSummary,
  percent,
  receiveAnnouncement,
  shortHash,
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
});
