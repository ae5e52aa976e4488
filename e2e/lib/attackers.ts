/**
 * Link holders who attack a sharer from Node: Socket.IO clients bound to several loopback
 * addresses (so that no per-address limit of the service stands between them and the sharer),
 * joined as recipients, relaying junk "offers" that do not open and genuine offers, sealed under
 * the link's key, that never complete (no ICE candidate follows them).
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { deriveRoomKeys, type RoomKeys } from '../../src/crypto/keys.js';
import { parseLink } from '../../src/crypto/link.js';
import { sealJson } from '../../src/crypto/seal.js';
import { PROTOCOL_VERSION, randomId } from '../../protocol/index.js';
import type { Ack, JoinReply, SourcesReply } from '../../protocol/signalling.js';
import { signalAad } from '../../protocol/sealing.js';

/** 127.0.0.2 … 127.0.0.9: Linux answers the whole of 127/8 on the loopback interface. */
export const ATTACK_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);

/** A data-channel offer as a browser makes it, minus candidates: ICE never gets anywhere. */
const HALF_OPEN_SDP = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'a=extmap-allow-mixed',
  'a=msid-semantic: WMS',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:EsAw',
  'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:D4:1C:23:2D:7A:C6:9C:3E:05:77:0A:11:7C:9D:3E:BA:39:5E:1C:6B:E3:95:4E:54:2F',
  'a=setup:actpass',
  'a=mid:0',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
  '',
].join('\r\n');

export interface Attacker {
  socket: Socket;
  peerId: string;
  address: string;
}

function emitWithAck<T extends object>(socket: Socket, event: string, payload: unknown) {
  return socket.timeout(10_000).emitWithAck(event, payload) as Promise<Ack<T>>;
}

/** One attacker socket from `address`, joined to the room as a recipient. */
export async function joinAttacker(
  serviceUrl: string,
  roomId: string,
  address: string,
): Promise<Attacker> {
  const options: Partial<ManagerOptions & SocketOptions> & { localAddress: string } = {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    localAddress: address,
  };
  const socket = io(serviceUrl, options);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  const ack = await emitWithAck<JoinReply>(socket, 'join', {
    v: PROTOCOL_VERSION,
    roomId,
    role: 'recipient',
  });
  if (!ack.ok) throw new Error(`an attacker's join was refused: ${ack.error.code}`);
  return { socket, peerId: ack.peerId, address };
}

/**
 * The sharer's peer id, as any recipient learns it: the service names it as a source. The slot
 * is released at once, so the attack holds none of the sharer's places at the service.
 */
export async function findSharer(attacker: Attacker): Promise<string> {
  const reply = await emitWithAck<SourcesReply>(attacker.socket, 'sources', { max: 1 });
  if (!reply.ok || reply.sources.length !== 1) {
    throw new Error(`no source for the attacker: ${JSON.stringify(reply)}`);
  }
  const sharer = reply.sources[0]!;
  await emitWithAck(attacker.socket, 'release', { peerId: sharer });
  return sharer;
}

/** Keys of the room the link names, derived as the widget derives them (an open room). */
export async function linkKeys(link: string): Promise<{ roomId: string; keys: RoomKeys }> {
  const secret = parseLink(link);
  if (!secret) throw new Error(`not a share link: ${link}`);
  return { roomId: secret.roomId, keys: await deriveRoomKeys(secret.key) };
}

/** An "offer" that does not open: an offerer's prefix and random base64url. */
export function junkOffer(): string {
  const bytes = new Uint8Array(48 + Math.floor(Math.random() * 400));
  crypto.getRandomValues(bytes);
  return 'o' + Buffer.from(bytes).toString('base64url');
}

/** A genuine first offer of a new connection from `from`, sealed as a recipient's link seals it. */
export async function halfOpenOffer(
  keys: RoomKeys,
  roomId: string,
  from: string,
  to: string,
): Promise<string> {
  const aad = signalAad(roomId, from, to, 'offerer');
  const envelope = { s: randomId(), n: 0, k: 'offer', sdp: HALF_OPEN_SDP };
  return 'o' + (await sealJson(keys.signal, envelope, aad));
}

/** Relays `envelope` to `to` the way the widget does: without an ack. */
export function relay(attacker: Attacker, to: string, envelope: string): void {
  attacker.socket.emit('signal', { to, envelope });
}

/**
 * Waits until the service handled what the sockets sent: it handles one socket's events in
 * order, so the answer to a last relay (to the socket itself, which it refuses) comes after them.
 */
export async function flushed(attackers: Attacker[]): Promise<void> {
  await Promise.all(
    attackers.map((a) => emitWithAck(a.socket, 'signal', { to: a.peerId, envelope: 'oAAAA' })),
  );
}
