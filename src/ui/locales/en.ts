/**
 * English: every word the widget shows or announces, and every failure it can show, by code and
 * reason, with its facts (sizes, waits, pieces, hosts) formatted by `Intl` for `en`. The service's
 * own English is never shown: a failure it reports is worded here from its code.
 */
import type { Format } from '../format.js';
import type { Locale } from './locale.js';

const serving = (n: number, f: Format) =>
  `Sharing with ${f.integer(n)} ${f.plural(n, { one: 'person', other: 'people' })}`;
const place = (position: number, f: Format) =>
  position <= 1 ? 'next' : `number ${f.integer(position)}`;
const saved = (name: string) => `Saved ${name}`;

export const en: Locale = {
  tag: 'en',
  route: { direct: 'direct', relayed: 'relayed' },
  outage: 'The sharing service is briefly unavailable; still trying. Transfers go on.',
  password: {
    show: 'Show',
    hide: 'Hide',
    showLabel: 'Show password',
    hideLabel: 'Hide password',
  },
  share: {
    drop: 'Drop a file here',
    or: 'or',
    choose: 'Choose a file',
    password: 'Password (optional)',
    passwordHint: 'Set one before choosing the file; recipients will need it as well as the link.',
    preparing: (percent) => `Preparing… ${percent}`,
    preparingLabel: (name) => `Preparing ${name}`,
    link: 'Share link',
    copy: 'Copy',
    copied: 'Copied',
    copyHint: 'The link is selected: press Ctrl+C (⌘C on a Mac) to copy it.',
    linkHint: (password) =>
      `Anyone with this link${password ? ' and the password' : ''} can download the file while this page stays open, or someone who has it keeps sharing it.`,
    protectedNote:
      'The link needs the password you set. Send the password separately, not with the link.',
    everyone: 'Everyone with the link',
    swarm: {
      seeds: 'Sharing',
      downloading: 'Downloading',
      queued: 'Waiting',
      finished: 'Finished',
    },
    uploaded: (size) => `You uploaded ${size}`,
    delivered: (size, copies, f) =>
      `${size} delivered in all (${f.integer(copies)} ${f.plural(copies, { one: 'complete copy', other: 'complete copies' })})`,
    noCopyYet: 'no complete copy delivered yet',
    recipients: 'Recipients',
    recipient: (n, f) => `Recipient ${f.integer(n)}`,
    progressLabel: (recipient) => `${recipient} progress`,
    status: { connecting: 'Connecting…', done: 'Done' },
    failed: (message) => `Failed: ${message}`,
    waiting: 'Waiting for someone to open the link…',
    stop: 'Stop sharing',
    stopped: 'Stopped sharing. The link no longer works.',
    another: 'Share another file',
    said: {
      preparing: (name) => `Preparing ${name}…`,
      ready: 'Link ready.',
      nobody: 'Waiting for someone to open the link.',
      peers: (n, f) => {
        const total = n.connecting + n.transferring + n.done + n.failed;
        const parts = (
          [
            [n.connecting, 'connecting'],
            [n.transferring, 'downloading'],
            [n.done, 'done'],
            [n.failed, 'failed'],
          ] as const
        )
          .filter(([count]) => count)
          .map(([count, what]) => `${f.integer(count)} ${what}`);
        const noun = f.plural(total, { one: 'recipient', other: 'recipients' });
        return `${f.integer(total)} ${noun}: ${parts.join(', ')}.`;
      },
      progress: (recipient, percent) => `${recipient} ${percent}.`,
      swarm: (s, f) =>
        `${f.integer(s.seeds)} sharing, ${f.integer(s.downloading)} downloading, ${f.integer(s.queued)} waiting, ${f.integer(s.finished)} finished.`,
      stopped: (name) => `Stopped sharing ${name}.`,
      copied: 'Link copied to the clipboard.',
      select: 'The link is selected: press Control C to copy it.',
    },
  },
  receive: {
    loading: 'Looking up the shared file…',
    locked: 'This file is protected by a password.',
    password: 'Password',
    unlock: 'Unlock',
    checking: 'Checking the password…',
    wait: (duration) => `You can try again in ${duration}.`,
    tryAgain: 'You can try the password again.',
    unknownType: 'Unknown type',
    download: 'Download',
    cancel: 'Cancel',
    connecting: 'Connecting to the sender…',
    queue: (position, f) =>
      `Waiting for a free sender — you are ${place(position, f)} in the queue.`,
    queueHint: (soFar) =>
      `${soFar ? `${soFar} so far. ` : ''}The download starts by itself when a sender is free.`,
    bytes: (got, size, percent) => `${got} of ${size} · ${percent}`,
    left: (duration) => `${duration} left`,
    sources: (n, f) => `from ${f.integer(n)} browsers`,
    progressLabel: (name) => `Downloading ${name}`,
    saving: 'Saving…',
    saved,
    hash: 'SHA-256',
    keepSharing: 'Keep sharing with others while this page is open',
    seeding: {
      off: 'Not sharing',
      idle: 'Nobody is downloading from you right now',
      serving,
      uploaded: (size) => `${size} uploaded`,
    },
    retry: 'Retry',
    resume: 'Resume',
    said: {
      ready: (name, size) => `${name}, ${size}, ready to download.`,
      queued: 'Waiting for a free sender.',
      place: (position, f) => `You are ${place(position, f)} in the queue.`,
      downloading: (name) => `Downloading ${name}.`,
      saving: (name) => `Saving ${name}…`,
      saved: (name, sharing) =>
        `${saved(name)}.${sharing ? ' You are sharing it with others while this page is open.' : ''}`,
      serving: (n, f) => `${serving(n, f)}.`,
      cancelled: 'Download cancelled.',
    },
  },
  errors: {
    'bad-request': {
      heading: 'That did not work',
      text: 'The request was refused.',
      reasons: {
        malformed: 'The other browser sent a message this widget cannot read.',
        'out-of-place': ({ piece }, f) =>
          piece === undefined
            ? 'The other browser sent a message out of place.'
            : `The other browser sent a message about piece ${f.integer(piece)} out of place.`,
        'several-files': 'Sharing several files at once is not supported yet. Choose one file.',
        'no-file': 'No file was given to share.',
        'already-sharing': 'A file is being shared already; stop sharing it first.',
        'no-link': 'There is no share link on this page to download from.',
        'recipient-page':
          'This page is showing a share link; open the page without it to share a file.',
        'not-ready': 'The share is not open yet. Wait until it is, then try again.',
        remote: 'The other browser refused a message from this one and ended the transfer.',
      },
    },
    'protocol-mismatch': {
      heading: 'Incompatible version',
      text: 'This widget and the other side run incompatible versions of p2p-share.',
      reasons: {
        service: 'The sharing service sent a reply this widget does not understand.',
        peer: 'The other browser runs an incompatible version of p2p-share. Reload both pages.',
        share: 'This share was made by an incompatible version of p2p-share.',
      },
    },
    'server-unreachable': {
      heading: 'Cannot reach the sharing service',
      text: 'The sharing service cannot be reached. Check your connection and try again.',
      reasons: {
        unreachable: ({ host }) =>
          host
            ? `Could not reach the sharing service at ${host}. Check your connection and try again.`
            : 'Could not reach the sharing service. Check your connection and try again.',
        timeout: 'The sharing service did not answer in time.',
        'not-a-service': ({ host, status }) => {
          const where = host ? ` at ${host}` : '';
          const answer = status === undefined ? '' : ` (HTTP ${status})`;
          return `No sharing service answers${where}${answer}. Check the widget's server address.`;
        },
        script:
          'Part of the widget could not be loaded from the sharing service. Check the connection and try again.',
      },
    },
    'room-not-found': {
      heading: 'This link has expired',
      text: 'This share does not exist any more: sharing was stopped, or the link expired.',
    },
    'room-closed': {
      heading: 'Sharing has ended',
      text: 'The sharer stopped sharing this file.',
      reasons: {
        stopped: 'The sharer stopped sharing this file.',
        expired: 'This share expired on the sharing service. Share the file again for a new link.',
      },
    },
    'not-allowed': {
      heading: 'Not allowed',
      text: 'The sharing service does not allow this here.',
      reasons: {
        picker:
          'The browser allows choosing where to save only right after a click, and not in every frame.',
      },
    },
    'no-sources': {
      heading: 'Nobody is sharing this file right now',
      text: 'Nobody who has this file is online right now. Try again later.',
    },
    'peer-not-found': {
      heading: 'The sender is gone',
      text: 'The other browser is not in this share any more.',
    },
    'peer-vanished': {
      heading: 'The connection was lost',
      text: 'The connection to the other browser was lost.',
      reasons: {
        lost: 'The connection to the other browser was lost.',
        closed: 'The other browser closed the connection.',
        silent: 'The other browser stopped responding.',
        left: 'The other browser left before the connection was made.',
        reconnected: 'A new connection to the other browser replaced this one.',
        'stopped-sharing': 'This browser stopped sharing the file.',
        'peer-storage': 'The other browser could not store the file and ended the transfer.',
      },
    },
    'connection-failed': {
      heading: 'Could not connect',
      text: 'Could not connect to the other browser (a firewall or network may block it).',
      reasons: {
        blocked:
          'Could not establish a direct connection to the other browser (a firewall or network may block it).',
        'no-reply': 'The other browser did not reply in time.',
        timeout:
          'Could not connect to the other browser in time (a firewall or network may block it).',
        handshake: 'The other browser connected but did not finish the secure handshake in time.',
        remote: 'The other browser could not connect to this one and gave up.',
        'relay-refused':
          'The relay server refused this browser (its access may have expired). Reload the page and try again.',
      },
    },
    tampered: {
      heading: 'The connection was tampered with',
      text: 'A message between you and the other browser was altered on the way: the connection was refused.',
      reasons: {
        relay:
          'A message relayed by the sharing service was altered, replayed or not sent by the other browser: the connection was refused.',
        proof:
          'The other browser could not prove it holds this link, or someone sits between you: the connection was refused.',
        remote:
          'The other browser refused the connection: a message between you was altered on the way or did not come from someone holding this link.',
      },
    },
    integrity: {
      heading: 'The file arrived damaged',
      text: 'Part of the file arrived damaged.',
      reasons: {
        manifest: 'The other browser sent a piece list that does not match this link.',
        piece: ({ piece }, f) =>
          piece === undefined
            ? 'The other browser sent a damaged piece.'
            : `The other browser sent piece ${f.integer(piece)} damaged.`,
        size: 'The saved file does not have the size that was shared. It was not kept.',
        remote: 'The other browser found damaged data and ended the transfer.',
      },
    },
    'insecure-context': {
      heading: 'This page is not secure',
      text: 'Sharing files needs a secure page. Open this page over https:// and try again.',
    },
    'invalid-link': {
      heading: 'This link is broken',
      text: 'This share link is incomplete or damaged. Ask the sender for the link again and copy all of it.',
    },
    'storage-full': {
      heading: 'Not enough disk space',
      text: ({ sizeBytes, limitBytes }, f) =>
        sizeBytes === undefined || limitBytes === undefined
          ? 'The disk, or the space this browser allows this site, is full.'
          : `Not enough storage: the file needs ${f.bytes(sizeBytes)}, but only ${f.bytes(limitBytes)} is free for this site.`,
    },
    'storage-error': {
      heading: 'Could not save the file',
      text: 'The file could not be stored.',
      reasons: {
        open: "The browser's storage could not be opened.",
        write: 'Writing the file to disk failed.',
        read: 'The shared file could not be read any more (was it moved, changed or deleted?).',
        changed: 'The shared file changed since it was shared.',
      },
    },
    'file-too-large': {
      heading: 'The file is too large',
      text: ({ sizeBytes, limitBytes }, f) =>
        sizeBytes === undefined || limitBytes === undefined
          ? 'The file is larger than this browser can handle.'
          : `The file is ${f.bytes(sizeBytes)}, but this browser stores at most ${f.bytes(limitBytes)} for this site.`,
    },
    'unsupported-browser': {
      heading: 'This browser cannot do that',
      text: 'This browser lacks something the widget needs.',
      reasons: {
        'no-picker': 'This browser cannot ask where to save a file.',
        'no-opfs': 'This browser cannot store downloads on disk.',
        'storage-denied': 'This browser does not let this page store files (a private window?).',
        'no-download': 'There is no page to start the download from.',
      },
    },
    cancelled: {
      heading: 'Cancelled',
      text: 'The transfer was cancelled.',
      reasons: {
        user: 'You cancelled the download. What arrived is kept: resume to fetch the rest.',
        stopped: 'Sharing was stopped.',
        replaced: 'Sharing was replaced before it started.',
        closed: 'The download was closed.',
        'no-location': 'No place to save the file was chosen.',
        remote: 'The other browser cancelled the transfer.',
      },
    },
    'bad-password': {
      heading: 'Wrong password',
      text: 'That is not the password of this share.',
      reasons: {
        missing: 'This share needs its password.',
      },
    },
    'rate-limited': {
      heading: 'Too many attempts',
      text: ({ retryAfterMs }, f) =>
        retryAfterMs === undefined || retryAfterMs <= 0
          ? 'Too many tries. Wait a moment and try again.'
          : `Too many tries. Wait ${f.duration(Math.ceil(retryAfterMs / 1000))} and try again.`,
    },
    'limit-exceeded': {
      heading: 'Limit reached',
      text: 'This share has reached a limit (too many people at once, say). Try again later.',
      reasons: {
        'repeated-piece': ({ piece }, f) =>
          piece === undefined
            ? 'The other browser asked for the same piece too often.'
            : `The other browser asked for piece ${f.integer(piece)} too often.`,
        'too-many-pieces': 'The other browser asked for too many pieces at once.',
        remote: 'The other browser ended the transfer: this one asked it for too much.',
      },
    },
    'too-many-connections': {
      heading: 'Too many connections',
      text: 'Too many pages on this network are connected to the sharing service at once. Close some and try again.',
    },
    'too-many-shares': {
      heading: 'Too many shares',
      text: 'Too many shares started on this network are still open. Stop one before starting another.',
    },
    'service-unavailable': {
      heading: 'Service unavailable',
      text: 'The sharing service is briefly unavailable. Try again in a moment.',
    },
    internal: {
      heading: 'Something went wrong',
      text: 'Something unexpected went wrong. Reload the page and try again.',
    },
  },
};
