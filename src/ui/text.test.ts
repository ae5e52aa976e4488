import { expect } from '@open-wc/testing';
import { ERROR_CODES, type ErrorCode } from '../../protocol/errors.js';
import { P2PError, errorData, type ErrorData } from '../errors.js';
import { en } from './locales/en.js';
import type { ErrorWords } from './locales/locale.js';
import {
  aroundName,
  bytesLine,
  errorHeading,
  errorMessage,
  formatBytes,
  formatDuration,
  formatSpeed,
  isolatedName,
  peerStatus,
  peersSummary,
  percent,
  queueLine,
  receiveAnnouncement,
  recipientName,
  routeText,
  seedingLine,
  shareAnnouncement,
  shortHash,
  shownName,
  sourcesLine,
  swarmSummary,
  uploadedLine,
  waitLine,
} from './text.js';

describe('widget text', () => {
  it('words a code it does not know as an internal failure, rather than throwing', () => {
    const unknown = { code: 'no-such-code' as ErrorCode };
    expect(errorHeading(unknown)).to.equal(en.errors.internal.heading);
    expect(errorMessage(unknown)).to.equal(errorMessage({ code: 'internal' }));
  });

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
    expect(formatDuration(0.4)).to.equal('0 sec');
    expect(formatDuration(59)).to.equal('59 sec');
    expect(formatDuration(60)).to.equal('1 min');
    expect(formatDuration(95)).to.equal('1 min 35 sec');
    expect(formatDuration(125)).to.equal('2 min 5 sec');
    expect(formatDuration(3600)).to.equal('1 hr');
    expect(formatDuration(3780)).to.equal('1 hr 3 min');
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

  it('writes percentages and counts through the locale, with their plural forms', () => {
    expect(bytesLine(400_000, 1_000_000)).to.equal('400 kB of 1 MB · 40%');
    expect(recipientName(0)).to.equal('Recipient 1');
    const peer = { peerId: 'a', status: 'transferring', bytes: 42, total: 100, speed: 0 } as const;
    expect(peerStatus(peer)).to.equal('42%');
    const done = { ...peer, status: 'done', bytes: 100 } as const;
    expect(peerStatus(done)).to.equal('Done');
    expect(peersSummary([done, peer, done])).to.equal('3 recipients: 1 downloading, 2 done.');
  });

  it('says how a connection runs once it is known, never for a failed one', () => {
    const peer = { peerId: 'a', status: 'transferring', bytes: 42, total: 100, speed: 0 } as const;
    expect(peerStatus({ ...peer, relayed: true })).to.equal('42% · relayed');
    expect(peerStatus({ ...peer, status: 'done', relayed: false })).to.equal('Done · direct');
    const failed = { ...peer, status: 'failed', relayed: true } as const;
    expect(peerStatus(failed)).to.not.contain('relayed');
    expect(routeText(undefined)).to.equal('');
  });

  it('leaves failures to the alert and names a cancel', () => {
    const error = { code: 'integrity', reason: 'piece', piece: 3 } as const;
    expect(receiveAnnouncement({ phase: 'error', error, retryable: true, bytes: 0 })).to.deep.equal(
      ['', ''],
    );
    expect(
      receiveAnnouncement({
        phase: 'error',
        error: { code: 'cancelled', reason: 'user' },
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
    const wrong = { code: 'bad-password' } as const;
    expect(receiveAnnouncement({ phase: 'locked', error: wrong })).to.deep.equal(['', '']);
    const limited = { code: 'rate-limited', retryAfterMs: 5000 } as const;
    expect(receiveAnnouncement({ phase: 'locked', error: limited }, 4)).to.deep.equal(['', '']);
    expect(receiveAnnouncement({ phase: 'locked', error: limited }, null)).to.deep.equal(['', '']);
    expect(receiveAnnouncement({ phase: 'locked', error: limited }, 0)[0]).to.equal(
      'You can try the password again.',
    );
    expect(waitLine(12)).to.equal('You can try again in 12 sec.');
    expect(waitLine(95)).to.equal('You can try again in 1 min 35 sec.');
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
      'Saved \u2068a.iso\u2069. You are sharing it with others while this page is open.',
      '',
    ]);
    expect(done(true, 2, 999)).to.deep.equal([
      'Saved \u2068a.iso\u2069. You are sharing it with others while this page is open.',
      'Sharing with 2 people.',
    ]);
    expect(done(true, 2, 5000), 'bytes uploaded are no news').to.deep.equal(done(true, 2, 999));
    expect(done(false, 0, 999)).to.deep.equal(['Saved \u2068a.iso\u2069.', '']);
  });

  it('says a file name as it is saved, isolated from the words around it', () => {
    expect(shownName('report\u202Efdp.exe')).to.equal('reportfdp.exe');
    expect(isolatedName('report\u202Efdp.exe')).to.equal('\u2068reportfdp.exe\u2069');
    expect(isolatedName('\u2069\u2069x\u2066.txt'), 'a name cannot close the isolate').to.equal(
      '\u2068x.txt\u2069',
    );
    const file = { name: 'bell\u0007\u202Dnote.txt', size: 10, type: '' };
    expect(receiveAnnouncement({ phase: 'ready', file })[0]).to.equal(
      '\u2068bellnote.txt\u2069, 10 bytes, ready to download.',
    );
    expect(shareAnnouncement({ phase: 'stopped', file })[0]).to.equal(
      'Stopped sharing \u2068bellnote.txt\u2069.',
    );
    expect(aroundName(en.receive.saved)).to.deep.equal(['Saved ', '']);
    expect(aroundName((name) => `«${name}» kept`)).to.deep.equal(['«', '» kept']);
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

describe('failures in words', () => {
  /** Every sentence a code's words can make, with and without its facts. */
  function sentences(code: ErrorCode): string[] {
    const words = en.errors[code] as ErrorWords<ErrorCode>;
    const facts = {
      retryAfterMs: 95_000,
      sizeBytes: 2_000_000,
      limitBytes: 1_000_000,
      piece: 7,
      host: 'share.example',
      status: 502,
    };
    const reasons = Object.keys(words.reasons ?? {}) as ErrorData['reason'][];
    return [undefined, ...reasons].flatMap((reason) =>
      [{}, facts].map((params) => errorMessage({ code, reason, ...params } as ErrorData)),
    );
  }

  it('words every code and every reason, with or without its facts', () => {
    // The compiler checks that each code's table has exactly its reasons (see `Locale`); this
    // checks that each of them says something whole.
    for (const code of ERROR_CODES) {
      expect(errorHeading({ code }), code).to.match(/^\S.*\S$/);
      for (const sentence of sentences(code)) {
        expect(sentence, code).to.match(/^\S.*[.?)]$/);
        expect(sentence, code).not.to.match(/undefined|NaN|\[object/);
      }
    }
    expect(Object.keys(en.errors).sort()).to.deep.equal([...ERROR_CODES].sort());
  });

  it('words each reason apart from its code, and a failure without one by its code', () => {
    expect(errorHeading({ code: 'peer-vanished', reason: 'silent' })).to.equal(
      'The connection was lost',
    );
    expect(errorMessage({ code: 'peer-vanished', reason: 'silent' })).to.equal(
      'The other browser stopped responding.',
    );
    expect(errorMessage({ code: 'peer-vanished', reason: 'closed' })).to.equal(
      'The other browser closed the connection.',
    );
    expect(errorMessage({ code: 'connection-failed', reason: 'handshake' })).to.equal(
      'The other browser connected but did not finish the secure handshake in time.',
    );
    expect(errorMessage({ code: 'room-not-found' })).to.equal(
      'This share does not exist any more: sharing was stopped, or the link expired.',
    );
  });

  it('says how long to wait from the number of milliseconds, not rounded to minutes', () => {
    expect(errorMessage({ code: 'rate-limited', retryAfterMs: 95_000 })).to.equal(
      'Too many tries. Wait 1 min 35 sec and try again.',
    );
    expect(errorMessage({ code: 'rate-limited', retryAfterMs: 1_200 })).to.equal(
      'Too many tries. Wait 2 sec and try again.',
    );
    expect(errorMessage({ code: 'rate-limited' })).to.equal(
      'Too many tries. Wait a moment and try again.',
    );
  });

  it('writes the sizes in a failure with the one byte formatter', () => {
    const full = { code: 'storage-full', sizeBytes: 20 * 2 ** 20, limitBytes: 10 * 2 ** 20 };
    expect(errorMessage(full as ErrorData)).to.equal(
      `Not enough storage: the file needs ${formatBytes(20 * 2 ** 20)}, but only ${formatBytes(10 * 2 ** 20)} is free for this site.`,
    );
    expect(errorMessage(full as ErrorData))
      .to.contain('21 MB')
      .and.contain('10 MB');
    expect(errorMessage({ code: 'file-too-large', sizeBytes: 3.2e12, limitBytes: 1.5e9 })).to.equal(
      'The file is 3.2 TB, but this browser stores at most 1.5 GB for this site.',
    );
    expect(errorMessage({ code: 'file-too-large', sizeBytes: 2 ** 60 })).to.equal(
      'The file is larger than this browser can handle.',
    );
  });

  it('names the piece, the host and the status a failure is about', () => {
    expect(errorMessage({ code: 'integrity', reason: 'piece', piece: 2 })).to.equal(
      'The other browser sent piece 2 damaged.',
    );
    expect(
      errorMessage({
        code: 'server-unreachable',
        reason: 'not-a-service',
        host: 'share.example',
        status: 404,
      }),
    ).to.equal(
      "No sharing service answers at share.example (HTTP 404). Check the widget's server address.",
    );
  });

  it('words a failed recipient from its error', () => {
    const peer = { peerId: 'a', status: 'failed', bytes: 0, total: 1, speed: 0 } as const;
    expect(peerStatus({ ...peer, error: { code: 'peer-vanished', reason: 'silent' } })).to.equal(
      'Failed: The other browser stopped responding.',
    );
    expect(peerStatus(peer)).to.equal('Failed: The connection to the other browser was lost.');
  });

  it('carries data, not words, from the engine', () => {
    const error = new P2PError('integrity', { reason: 'piece', piece: 4 });
    expect(errorData(error)).to.deep.equal({ code: 'integrity', reason: 'piece', piece: 4 });
    expect(error.message).to.equal('integrity (piece) piece=4');
    const cause = new DOMException('gone', 'InvalidStateError');
    const write = new P2PError('storage-error', { reason: 'write' }, { cause });
    expect(write.message).to.equal('storage-error (write): gone');
    expect(write.cause).to.equal(cause);
  });

  it('checks reasons and facts against their code when compiling', () => {
    // @ts-expect-error: `malformed` is a reason of `bad-request`, not of `cancelled`.
    expect(new P2PError('cancelled', { reason: 'malformed' }).code).to.equal('cancelled');
    // @ts-expect-error: `cancelled` carries no piece.
    expect(new P2PError('cancelled', { piece: 1 }).code).to.equal('cancelled');
    // @ts-expect-error: the engine gives parameters, never a sentence, even for a code without facts.
    expect(new P2PError('tampered', 'Altered.').code).to.equal('tampered');
    // @ts-expect-error: a table that leaves out one of its code's reasons.
    const partial: ErrorWords<'room-closed'> = { heading: '', text: '', reasons: { stopped: '' } };
    expect(partial.heading).to.equal('');
  });
});
