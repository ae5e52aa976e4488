/**
 * PeerJS the way FilePizza uses it: the uploader registers with a `peer` server and, asked to
 * Start, sends the file as 256 KiB `Chunk` messages (a Blob slice each, the default binary
 * serialization, one per setTimeout tick); the downloader acknowledges every chunk and keeps
 * the bytes in memory. The script tag before this module defines `window.peerjs`.
 */
import type { DataConnection, Peer as PeerType, PeerOptions } from 'peerjs';
import type { PeerJsApi, PeerJsOptions } from './types.js';

declare global {
  interface Window {
    peerjs: { Peer: typeof PeerType };
  }
}

/** FilePizza's MAX_CHUNK_SIZE. */
const CHUNK = 256 * 1024;

type Message =
  | { type: 'RequestInfo' }
  | { type: 'Info'; files: Array<{ fileName: string; size: number; type: string }> }
  | { type: 'Start'; fileName: string; offset: number }
  | { type: 'Chunk'; fileName: string; offset: number; bytes: Blob | ArrayBuffer; final: boolean }
  | { type: 'ChunkAck'; fileName: string; offset: number; bytesReceived: number }
  | { type: 'Done' };

const wall = () => performance.timeOrigin + performance.now();

function options({ host, port }: PeerJsOptions): PeerOptions {
  // No STUN/TURN: like our service's default, loopback host candidates only.
  return {
    host,
    port,
    path: '/',
    key: 'peerjs',
    secure: false,
    debug: 0,
    config: { iceServers: [] },
  };
}

function open(peer: PeerType): Promise<void> {
  return new Promise((resolve, reject) => {
    peer.once('open', () => resolve());
    peer.once('error', reject);
  });
}

const api: PeerJsApi = {
  async share(opts) {
    const file = (document.getElementById('file') as HTMLInputElement).files?.[0];
    if (!file) throw new Error('pick a file in #file first');
    const peer = new window.peerjs.Peer(opts.id, options(opts));
    await open(peer);
    peer.on('connection', (conn: DataConnection) => {
      conn.on('data', (data) => {
        const msg = data as Message;
        if (msg.type === 'RequestInfo') {
          conn.send({
            type: 'Info',
            files: [{ fileName: file.name, size: file.size, type: file.type }],
          });
        } else if (msg.type === 'Start') {
          let offset = msg.offset;
          const next = () =>
            setTimeout(() => {
              const end = Math.min(file.size, offset + CHUNK);
              const final = offset + CHUNK >= file.size;
              conn.send({
                type: 'Chunk',
                fileName: file.name,
                offset,
                bytes: file.slice(offset, end),
                final,
              });
              offset = end;
              if (!final) next();
            }, 0);
          next();
        } else if (msg.type === 'Done') {
          conn.close();
        }
      });
    });
  },

  async fetch(opts) {
    const startedAt = wall();
    const peer = new window.peerjs.Peer(opts.id, options(opts));
    await open(peer);
    const conn = peer.connect(opts.sharerId, { reliable: true });
    const chunks = new Map<number, ArrayBuffer>();
    let bytes = 0;
    let size = 0;
    let firstAt = 0;
    let name = '';
    let outOfOrder = 0;
    let expected = 0;
    const doneAt = await new Promise<number>((resolve, reject) => {
      conn.on('error', reject);
      conn.on('open', () => conn.send({ type: 'RequestInfo' }));
      conn.on('data', (data) => {
        const msg = data as Message;
        if (msg.type === 'Info') {
          name = msg.files[0]!.fileName;
          size = msg.files[0]!.size;
          conn.send({ type: 'Start', fileName: name, offset: 0 });
        } else if (msg.type === 'Chunk') {
          const buf = msg.bytes as ArrayBuffer;
          if (bytes === 0) firstAt = wall();
          // PeerJS packs each Blob asynchronously, so chunks can overtake one another. FilePizza's
          // downloader appends in arrival order; here they are kept by offset and counted.
          if (msg.offset !== expected) outOfOrder++;
          expected = msg.offset + buf.byteLength;
          if (!chunks.has(msg.offset)) bytes += buf.byteLength;
          chunks.set(msg.offset, buf);
          conn.send({
            type: 'ChunkAck',
            fileName: msg.fileName,
            offset: msg.offset,
            bytesReceived: buf.byteLength,
          });
          if (bytes === size) {
            conn.send({ type: 'Done' });
            resolve(wall());
          }
        }
      });
    });
    // Kept until here so the bytes really sit in memory for the whole transfer.
    (window as unknown as { received: Map<number, ArrayBuffer> }).received = chunks;
    return { startedAt, firstAt, doneAt, bytes, name, outOfOrder };
  },
};

window.pj = api;
