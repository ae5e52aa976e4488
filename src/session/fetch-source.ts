/**
 * One source of a download: the sealed PeerLink to it, the PieceFetcher that asks it for pieces,
 * and its measured speed. SourceSet decides which sources to use, which pieces each is asked for
 * first and how much each keeps requested; this module wires one source's link to its fetcher.
 */
import type { RoomKeys } from '../crypto/keys.js';
import { P2PError } from '../errors.js';
import { PeerLink } from '../rtc/peer-link.js';
import type { SignalClient } from '../signal/signal-client.js';
import type { Download } from '../transfer/download.js';
import { PieceFetcher } from '../transfer/piece-fetcher.js';
import { RateMeter } from './rate.js';

export interface Source {
  peerId: string;
  link: PeerLink;
  fetcher: PieceFetcher;
  rate: RateMeter;
  /** Bytes verified from it. */
  verified: number;
  /** Whether its link opened. */
  opened: boolean;
}

export interface SourceWiring {
  roomId: string;
  client: SignalClient;
  keys: RoomKeys;
  ice: RTCConfiguration;
  download: Download;
  /** Sessions of links this download ended (see PeerLink's `retired`); this link's joins them. */
  retired: Set<string>;
  /** A connection made ahead, for the link to take (see PeerLink's `pc`). */
  pc?: RTCPeerConnection;
  connectTimeoutMs?: number;
  /** See FetcherEvents: each gets the source it is asked about. */
  windowBytes: (source: Source) => number;
  prefer: (source: Source, index: number) => boolean;
  trading: (source: Source) => boolean;
  onOpen: (source: Source) => void;
  onPiece: (source: Source) => void;
  /** Every piece of the download is verified. */
  onComplete: () => void;
  /** Its link closed, with why (null: closed in good order). */
  onClose: (source: Source, error: P2PError | null) => void;
}

/** Sessions remembered as ended, at most; the oldest are forgotten first. */
const MAX_RETIRED = 64;

/**
 * Makes the link to `peer`, which fetches from it once open; the caller starts it (after
 * noting the source, so that whatever the link reports finds it).
 */
export function openSource(peer: string, wiring: SourceWiring): Source {
  const { client } = wiring;
  const link: PeerLink = new PeerLink({
    role: 'offerer',
    roomId: wiring.roomId,
    localId: client.peerId,
    page: client.page,
    remoteId: peer,
    keys: wiring.keys,
    ice: wiring.ice,
    pc: wiring.pc,
    relay: (env) => client.signal(peer, env),
    retired: wiring.retired,
    connectTimeoutMs: wiring.connectTimeoutMs,
    onOpen: () => {
      source.opened = true;
      wiring.onOpen(source);
      fetcher.start();
    },
    onControl: (msg) => {
      if (!fetcher.handleControl(msg)) {
        link.fail(new P2PError('bad-request', { reason: 'out-of-place' }));
      }
    },
    onData: (data) => fetcher.handleData(data),
    onClose: (error) => {
      retire(wiring.retired, link.session);
      wiring.onClose(source, error);
    },
  });
  const fetcher = new PieceFetcher(link, wiring.download, {
    windowBytes: () => wiring.windowBytes(source),
    prefer: (i) => wiring.prefer(source, i),
    preferOnly: (): boolean => fetcher.whole && wiring.trading(source),
    trading: () => wiring.trading(source),
    onPiece: (_index, bytes) => {
      source.verified += bytes;
      source.rate.add(source.verified);
      wiring.onPiece(source);
    },
    onComplete: wiring.onComplete,
    onError: () => {
      // The link closes with the same error; its onClose handles it once.
    },
  });
  const source: Source = {
    peerId: peer,
    link,
    fetcher,
    rate: new RateMeter(),
    verified: 0,
    opened: false,
  };
  return source;
}

function retire(retired: Set<string>, session: string | null): void {
  if (session === null) return;
  retired.add(session);
  for (const old of retired) {
    if (retired.size <= MAX_RETIRED) break;
    retired.delete(old);
  }
}
