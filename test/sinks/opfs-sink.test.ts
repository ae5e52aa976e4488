import { expect } from '@open-wc/testing';
import { P2PError } from '../../src/errors.js';
import { openSink, type Sink } from '../../src/sinks/sink.js';
import { OPFS_DIRECTORY, removeStale } from '../../src/sinks/opfs.js';
import {
  KiB,
  MiB,
  clearOpfs,
  opfsNames,
  pieces,
  randomBytes,
  rejection,
  replace,
  settlesWithin,
  sha256,
  shuffled,
} from './helpers.js';

let room = 0;
/** A fresh room per test: sinks stay registered per room for the life of the page. */
function roomId(): string {
  room += 1;
  return `opfs-test-room-${room}-${Date.now()}`;
}

const proto = FileSystemWritableFileStream.prototype;

describe('OPFS sink', () => {
  const restores: Array<() => void> = [];
  const sinks: Sink[] = [];

  async function open(size: number, name = 'file.bin'): Promise<Sink> {
    const sink = await openSink({ name, size, roomId: roomId(), prefer: 'opfs' });
    sinks.push(sink);
    return sink;
  }

  /** Counts the stream writes that reach the browser. */
  function countWrites(): { count: number } {
    const counter = { count: 0 };
    const original = proto.write;
    restores.push(
      replace(proto, 'write', function (this: FileSystemWritableFileStream, chunk) {
        counter.count++;
        return original.call(this, chunk);
      }),
    );
    return counter;
  }

  // Other test files in the same browser (the engine's downloads) may have left files behind.
  beforeEach(clearOpfs);

  afterEach(async () => {
    while (restores.length) restores.pop()!();
    // Unfinished sinks hold a lock on their file; aborting releases it before the clean-up.
    for (const sink of sinks.splice(0)) await sink.abort().catch(() => undefined);
    await clearOpfs();
  });

  it('stores in-order pieces on disk and returns a File with the same bytes', async () => {
    const source = randomBytes(6 * MiB + 777);
    const sink = await open(source.length);
    expect(sink.kind).to.equal('opfs');
    for (const [offset, length] of pieces(source.length, 256 * KiB)) {
      await sink.write(offset, source.slice(offset, offset + length));
    }
    const file = await sink.finish();
    expect(file).to.be.instanceOf(File);
    expect(file.size).to.equal(source.length);
    expect(await sha256(file)).to.equal(await sha256(source));
    expect(await opfsNames()).to.have.length(1);
  });

  it('stores out-of-order pieces and rewrites, last write winning', async () => {
    const source = randomBytes(5 * MiB + 4321);
    const sink = await open(source.length);
    const all = shuffled(pieces(source.length, 300 * KiB));
    // A corrupted copy of some pieces arrives first; the retried, correct ones later.
    for (const [offset, length] of all.slice(0, 5)) await sink.write(offset, randomBytes(length));
    for (const [offset, length] of all) {
      await sink.write(offset, source.slice(offset, offset + length));
    }
    // And a retry of an early piece after everything else, with identical bytes.
    const [offset, length] = all[3]!;
    await sink.write(offset, source.slice(offset, offset + length));
    const file = await sink.finish();
    expect(file.size).to.equal(source.length);
    expect(await sha256(file)).to.equal(await sha256(source));
  });

  it('takes pieces larger than a batch, like 16 MiB ones', async () => {
    const source = randomBytes(20 * MiB);
    const sink = await open(source.length);
    for (const [offset, length] of pieces(source.length, 16 * MiB)) {
      await sink.write(offset, source.subarray(offset, offset + length));
    }
    expect(await sha256(await sink.finish())).to.equal(await sha256(source));
  });

  it('batches small pieces into a few large stream writes', async () => {
    const counter = countWrites();
    const source = randomBytes(8 * MiB + 100 * KiB);
    const sink = await open(source.length);
    const all = pieces(source.length, 256 * KiB);
    for (const [offset, length] of all) {
      await sink.write(offset, source.slice(offset, offset + length));
    }
    const file = await sink.finish();
    expect(all.length).to.equal(33);
    expect(counter.count).to.equal(3);
    expect(await sha256(file)).to.equal(await sha256(source));
  });

  it('makes write() wait while 16 MiB are buffered or in flight', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const original = proto.write;
    restores.push(
      replace(proto, 'write', function (this: FileSystemWritableFileStream, chunk) {
        return gate.then(() => original.call(this, chunk));
      }),
    );
    const source = randomBytes(24 * MiB);
    const sink = await open(source.length);
    const all = pieces(source.length, 256 * KiB);
    let accepted = 0;
    let blocked: Promise<void> | null = null;
    for (const [offset, length] of all) {
      const write = sink.write(offset, source.slice(offset, offset + length));
      if (!(await settlesWithin(write, 300))) {
        blocked = write;
        break;
      }
      accepted += length;
    }
    expect(accepted).to.equal(16 * MiB);
    expect(blocked).to.not.equal(null);
    // Still held while nothing reaches the disk.
    expect(await settlesWithin(blocked!, 300)).to.equal(false);
    release();
    await blocked;
    for (const [offset, length] of all.slice(accepted / (256 * KiB) + 1)) {
      await sink.write(offset, source.slice(offset, offset + length));
    }
    expect(await sha256(await sink.finish())).to.equal(await sha256(source));
  });

  it('refuses a file larger than the free space with storage-full, before writing', async () => {
    restores.push(
      replace(navigator.storage, 'estimate', async () => ({ quota: 100 * MiB, usage: 90 * MiB })),
    );
    const error = (await rejection(
      openSink({ name: 'big.bin', size: 20 * MiB, roomId: roomId(), prefer: 'opfs' }),
    )) as P2PError;
    expect(error).to.be.instanceOf(P2PError);
    expect(error.code).to.equal('storage-full');
    expect(error.params).to.deep.equal({ sizeBytes: 20 * MiB, limitBytes: 10 * MiB });
    expect(await opfsNames()).to.deep.equal([]);
  });

  it('refuses a file larger than the whole quota with file-too-large', async () => {
    restores.push(
      replace(navigator.storage, 'estimate', async () => ({ quota: 100 * MiB, usage: 0 })),
    );
    const error = (await rejection(
      openSink({ name: 'huge.bin', size: 200 * MiB, roomId: roomId(), prefer: 'opfs' }),
    )) as P2PError;
    expect(error.code).to.equal('file-too-large');
    expect(error.params).to.deep.equal({ sizeBytes: 200 * MiB, limitBytes: 100 * MiB });
  });

  it('accepts a file that fits the reported free space', async () => {
    restores.push(
      replace(navigator.storage, 'estimate', async () => ({ quota: 100 * MiB, usage: 90 * MiB })),
    );
    const source = randomBytes(MiB);
    const sink = await open(source.length);
    await sink.write(0, source);
    expect(await sha256(await sink.finish())).to.equal(await sha256(source));
  });

  it('maps a QuotaExceededError while writing to storage-full', async () => {
    restores.push(
      replace(proto, 'write', async () => {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      }),
    );
    const sink = await open(8 * MiB);
    await sink.write(0, randomBytes(4 * MiB));
    const error = (await rejection(sink.finish())) as P2PError;
    expect(error.code).to.equal('storage-full');
    expect(((await rejection(sink.write(4 * MiB, randomBytes(10)))) as P2PError).code).to.equal(
      'storage-full',
    );
  });

  it('refuses writes past the announced size', async () => {
    const sink = await open(MiB);
    expect(await rejection(sink.write(MiB - 10, randomBytes(11)))).to.be.instanceOf(RangeError);
    await sink.write(MiB - 10, randomBytes(10));
  });

  it('abort discards the partial file', async () => {
    const sink = await open(4 * MiB);
    await sink.write(0, randomBytes(4 * MiB));
    expect(await opfsNames()).to.have.length(1);
    await sink.abort();
    expect(await opfsNames()).to.deep.equal([]);
    expect(((await rejection(sink.write(0, randomBytes(1)))) as P2PError).code).to.equal(
      'cancelled',
    );
  });

  it('gives a retry in the same page the same unfinished sink, and a new one afterwards', async () => {
    const id = roomId();
    const source = randomBytes(2 * MiB);
    const [first, concurrent] = await Promise.all([
      openSink({ name: 'a.bin', size: source.length, roomId: id, prefer: 'opfs' }),
      openSink({ name: 'a.bin', size: source.length, roomId: id, prefer: 'opfs' }),
    ]);
    sinks.push(first);
    expect(concurrent).to.equal(first);
    await first.write(0, source.slice(0, MiB));
    const again = await openSink({ name: 'a.bin', size: source.length, roomId: id });
    expect(again).to.equal(first);
    await again.write(MiB, source.slice(MiB));
    const file = await again.finish();
    expect(await sha256(file)).to.equal(await sha256(source));
    const fresh = await openSink({
      name: 'a.bin',
      size: source.length,
      roomId: id,
      prefer: 'opfs',
    });
    sinks.push(fresh);
    expect(fresh).to.not.equal(first);
    // The finished file is untouched by the new sink.
    expect(await sha256(file)).to.equal(await sha256(source));
  });

  it('removes files left by earlier visits but keeps the ones in use', async () => {
    const root = await navigator.storage.getDirectory();
    const directory = await root.getDirectoryHandle(OPFS_DIRECTORY, { create: true });
    await directory.getFileHandle('left-over', { create: true });
    const sink = await open(10);
    const names = await opfsNames();
    expect(names).to.have.length(2);
    const own = names.filter((name) => name !== 'left-over');
    // Not stale yet.
    expect(await removeStale(directory, new Set(own))).to.deep.equal([]);
    const dayLater = Date.now() + 25 * 60 * 60 * 1000;
    expect(await removeStale(directory, new Set(own), undefined, dayLater)).to.deep.equal([
      'left-over',
    ]);
    expect(await opfsNames()).to.deep.equal(own);
    await sink.write(0, randomBytes(10));
    expect((await sink.finish()).size).to.equal(10);
  });

  it('cleans stale files up when a sink opens', async () => {
    const root = await navigator.storage.getDirectory();
    const directory = await root.getDirectoryHandle(OPFS_DIRECTORY, { create: true });
    await directory.getFileHandle('left-over', { create: true });
    const realNow = Date.now;
    restores.push(replace(Date, 'now', () => realNow() + 25 * 60 * 60 * 1000));
    const sink = await open(10);
    expect(await opfsNames()).to.not.include('left-over');
    expect(await opfsNames()).to.have.length(1);
    await sink.abort();
  });

  it('rejects sizes that are not byte counts, and sizes past what JavaScript can address', async () => {
    const id = roomId();
    expect(await rejection(openSink({ name: 'x', size: -1, roomId: id }))).to.be.instanceOf(
      RangeError,
    );
    expect(await rejection(openSink({ name: 'x', size: 1.5, roomId: id }))).to.be.instanceOf(
      RangeError,
    );
    const huge = (await rejection(openSink({ name: 'x', size: 2 ** 60, roomId: id }))) as P2PError;
    expect(huge.code).to.equal('file-too-large');
  });

  it('reports a browser without OPFS as unsupported-browser', async () => {
    restores.push(replace(navigator.storage, 'getDirectory', undefined as never));
    const error = (await rejection(
      openSink({ name: 'x', size: 1, roomId: roomId(), prefer: 'opfs' }),
    )) as P2PError;
    expect(error.code).to.equal('unsupported-browser');
    expect(error.params).to.deep.equal({ reason: 'no-opfs' });
  });
});
