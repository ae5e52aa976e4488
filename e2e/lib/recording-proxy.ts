/**
 * The privacy test's witness: a proxy between the browsers and the service that records what
 * they send, so a test can search it for what the service must never learn.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';

export interface Received {
  /** Raw bytes of everything a client sent, headers included (decoded as latin1). */
  raw: string;
  /** Request bodies and WebSocket message payloads (UTF-8), without HTTP headers. */
  payloads: string[];
}

/**
 * A TCP proxy in front of the service that keeps everything browsers send to it: plain HTTP
 * requests and, after a WebSocket upgrade, the unmasked payload of each client frame. It records
 * what the service receives on the wire, beneath any code the service could forget to hook.
 */
export class RecordingProxy {
  readonly received: Received = { raw: '', payloads: [] };
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<RecordingProxy> {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const proxy = new RecordingProxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => proxy.handle(client, targetPort));
    return proxy;
  }

  private handle(client: net.Socket, targetPort: number): void {
    const upstream = net.connect(targetPort, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    const parser = new ClientStreamParser(this.received);
    client.on('data', (chunk: Buffer) => {
      this.received.raw += chunk.toString('latin1');
      parser.push(chunk);
    });
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Splits one client→server byte stream into HTTP request bodies and WebSocket payloads. */
class ClientStreamParser {
  private buf = Buffer.alloc(0);
  private mode: 'http' | 'ws' = 'http';
  private fragments: Buffer[] = [];

  constructor(private readonly out: Received) {}

  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const consumed = this.mode === 'http' ? this.parseRequest() : this.parseFrame();
      if (!consumed) return;
    }
  }

  private parseRequest(): boolean {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return false;
    const head = this.buf.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    assert.ok(
      !/\r\ntransfer-encoding:\s*chunked/i.test(head),
      'a browser sent a chunked request; teach the recording proxy to decode it',
    );
    if (this.buf.length < end + 4 + length) return false;
    const body = this.buf.subarray(end + 4, end + 4 + length);
    this.out.payloads.push(`${head.split('\r\n')[0]}\n${body.toString('utf8')}`);
    this.buf = this.buf.subarray(end + 4 + length);
    if (/\r\nupgrade:\s*websocket/i.test(head)) this.mode = 'ws';
    return true;
  }

  private parseFrame(): boolean {
    const b = this.buf;
    if (b.length < 2) return false;
    const rsv1 = (b[0]! & 0x40) !== 0;
    const fin = (b[0]! & 0x80) !== 0;
    const masked = (b[1]! & 0x80) !== 0;
    let len = b[1]! & 0x7f;
    let at = 2;
    if (len === 126) {
      if (b.length < 4) return false;
      len = b.readUInt16BE(2);
      at = 4;
    } else if (len === 127) {
      if (b.length < 10) return false;
      len = Number(b.readBigUInt64BE(2));
      at = 10;
    }
    const maskAt = at;
    if (masked) at += 4;
    if (b.length < at + len) return false;
    assert.ok(
      !rsv1,
      'the service negotiated compressed WebSocket frames; recording cannot read them',
    );
    const payload = Buffer.from(b.subarray(at, at + len));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= b[maskAt + (i % 4)]!;
    this.fragments.push(payload);
    if (fin) {
      this.out.payloads.push(Buffer.concat(this.fragments).toString('utf8'));
      this.fragments = [];
    }
    this.buf = b.subarray(at + len);
    return true;
  }
}
