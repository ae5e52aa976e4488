import { expect } from '@open-wc/testing';
import { BatchWriter, type WriteTarget } from '../../src/sinks/batch-writer.js';
import { P2PError } from '../../src/errors.js';
import { KiB, MiB, pieces, randomBytes, rejection, settlesWithin, shuffled } from './helpers.js';

/** An in-memory stream: records each write and applies it, optionally held until released. */
class FakeTarget implements WriteTarget {
  readonly calls: Array<{ position: number; length: number; data: Uint8Array }> = [];
  bytes = new Uint8Array(0);
  closed = false;
  aborted = false;
  failWith: unknown = null;
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open();
  }

  async write(params: { position: number; data: Uint8Array }): Promise<void> {
    const { position, data } = params;
    this.calls.push({ position, length: data.byteLength, data });
    await this.gate;
    if (this.failWith) throw this.failWith;
    const end = position + data.byteLength;
    if (end > this.bytes.length) {
      const grown = new Uint8Array(end);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes.set(data, position);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async abort(): Promise<void> {
    this.aborted = true;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

describe('BatchWriter', () => {
  it('coalesces contiguous writes into batch-sized stream writes', async () => {
    const source = randomBytes(10 * MiB);
    const target = new FakeTarget();
    const writer = new BatchWriter(target, { batchBytes: 4 * MiB, maxPendingBytes: 16 * MiB });
    for (const [offset, length] of pieces(source.length, 256 * KiB)) {
      await writer.write(offset, source.slice(offset, offset + length));
    }
    await writer.finish();
    expect(target.calls.map((c) => [c.position, c.length])).to.deep.equal([
      [0, 4 * MiB],
      [4 * MiB, 4 * MiB],
      [8 * MiB, 2 * MiB],
    ]);
    expect(target.closed).to.equal(true);
    expect(equalBytes(target.bytes, source)).to.equal(true);
    expect(writer.pendingBytes).to.equal(0);
  });

  it('splits a piece that straddles a batch boundary and keeps the batches aligned', async () => {
    const source = randomBytes(3 * MiB);
    const target = new FakeTarget();
    const writer = new BatchWriter(target, { batchBytes: 1 * MiB, maxPendingBytes: 4 * MiB });
    for (const [offset, length] of pieces(source.length, 768 * KiB)) {
      await writer.write(offset, source.slice(offset, offset + length));
    }
    await writer.finish();
    expect(target.calls.map((c) => [c.position, c.length])).to.deep.equal([
      [0, MiB],
      [MiB, MiB],
      [2 * MiB, MiB],
    ]);
    expect(equalBytes(target.bytes, source)).to.equal(true);
  });

  it('writes out-of-order pieces where they belong', async () => {
    const source = randomBytes(5 * MiB + 123);
    const target = new FakeTarget();
    const writer = new BatchWriter(target, { batchBytes: MiB, maxPendingBytes: 4 * MiB });
    for (const [offset, length] of shuffled(pieces(source.length, 256 * KiB))) {
      await writer.write(offset, source.slice(offset, offset + length));
    }
    await writer.finish();
    expect(equalBytes(target.bytes, source)).to.equal(true);
  });

  it('lets the last write of a range win, in the open batch and after it was flushed', async () => {
    const source = randomBytes(3 * MiB);
    const target = new FakeTarget();
    const writer = new BatchWriter(target, { batchBytes: MiB, maxPendingBytes: 4 * MiB });
    const garbage = randomBytes(256 * KiB);
    // Garbage first, then the real bytes for the whole file: a retried piece.
    await writer.write(2 * MiB + 256 * KiB, garbage);
    for (const [offset, length] of pieces(source.length, 256 * KiB)) {
      await writer.write(offset, source.slice(offset, offset + length));
    }
    // Rewrites inside the open (last) batch are patched in memory, with no extra stream write.
    const callsBefore = target.calls.length;
    await writer.write(2 * MiB + 512 * KiB, garbage);
    await writer.write(2 * MiB + 512 * KiB, source.slice(2 * MiB + 512 * KiB, 2 * MiB + 768 * KiB));
    expect(target.calls.length).to.equal(callsBefore);
    await writer.finish();
    expect(equalBytes(target.bytes, source)).to.equal(true);
  });

  it('reuses the batch buffers the stream is done with, never one still being written', async () => {
    const source = randomBytes(12 * MiB);
    const target = new FakeTarget();
    const writer = new BatchWriter(target, { batchBytes: MiB, maxPendingBytes: 3 * MiB });
    target.hold();
    const all = pieces(source.length, 256 * KiB);
    // Fill the budget while the stream holds every write: each batch needs a buffer of its own.
    let next = 0;
    while (writer.pendingBytes < 3 * MiB) {
      const [offset, length] = all[next++]!;
      await writer.write(offset, source.slice(offset, offset + length));
    }
    const held = new Set(target.calls.map((c) => c.data.buffer));
    expect(held.size).to.equal(target.calls.length);
    target.release();
    for (const [offset, length] of all.slice(next)) {
      await writer.write(offset, source.slice(offset, offset + length));
    }
    await writer.finish();
    expect(equalBytes(target.bytes, source)).to.equal(true);
    expect(target.calls).to.have.length(12);
    // Twelve batches went through at most four buffers (the budget's three and the open one).
    expect(new Set(target.calls.map((c) => c.data.buffer)).size).to.be.at.most(4);
  });

  it('hands a piece of at least one batch to the stream without copying it', async () => {
    const target = new FakeTarget();
    const writer = new BatchWriter(target, { batchBytes: MiB, maxPendingBytes: 4 * MiB });
    const big = randomBytes(2 * MiB);
    await writer.write(0, big);
    await writer.finish();
    expect(target.calls).to.have.length(1);
    expect(target.calls[0]!.data.buffer).to.equal(big.buffer);
  });

  it('stops accepting while the budget is in flight, and resumes when the stream catches up', async () => {
    const target = new FakeTarget();
    target.hold();
    const writer = new BatchWriter(target, { batchBytes: MiB, maxPendingBytes: 4 * MiB });
    const source = randomBytes(6 * MiB);
    const all = pieces(source.length, 512 * KiB);
    let accepted = 0;
    let blocked: Promise<void> | null = null;
    for (const [offset, length] of all) {
      const write = writer.write(offset, source.slice(offset, offset + length));
      if (!(await settlesWithin(write, 200))) {
        blocked = write;
        break;
      }
      accepted += length;
      expect(writer.pendingBytes).to.be.at.most(4 * MiB);
    }
    expect(accepted).to.equal(4 * MiB);
    expect(blocked).to.not.equal(null);
    target.release();
    await blocked;
    for (const [offset, length] of all.slice(accepted / (512 * KiB) + 1)) {
      await writer.write(offset, source.slice(offset, offset + length));
    }
    await writer.finish();
    expect(equalBytes(target.bytes, source)).to.equal(true);
  });

  it('turns a full disk into storage-full for every later call', async () => {
    const target = new FakeTarget();
    target.failWith = new DOMException('quota', 'QuotaExceededError');
    const writer = new BatchWriter(target, { batchBytes: MiB, maxPendingBytes: 4 * MiB });
    await writer.write(0, randomBytes(MiB));
    const finished = (await rejection(writer.finish())) as P2PError;
    expect(finished).to.be.instanceOf(P2PError);
    expect(finished.code).to.equal('storage-full');
    expect(writer.failure?.code).to.equal('storage-full');
    const later = (await rejection(writer.write(MiB, randomBytes(10)))) as P2PError;
    expect(later.code).to.equal('storage-full');
    expect(target.closed).to.equal(false);
  });

  it('reports any other stream failure as storage-error', async () => {
    const target = new FakeTarget();
    target.failWith = new DOMException('gone', 'InvalidStateError');
    const writer = new BatchWriter(target, { batchBytes: MiB, maxPendingBytes: 4 * MiB });
    await writer.write(0, randomBytes(MiB));
    const error = (await rejection(writer.finish())) as P2PError;
    expect(error.code).to.equal('storage-error');
    expect(error.params).to.deep.equal({ reason: 'write' });
    expect((error.cause as DOMException).message).to.equal('gone');
  });

  it('abort wakes a waiting write with cancelled and aborts the stream', async () => {
    const target = new FakeTarget();
    target.hold();
    const writer = new BatchWriter(target, { batchBytes: MiB, maxPendingBytes: MiB });
    await writer.write(0, randomBytes(MiB));
    const waiting = writer.write(MiB, randomBytes(MiB));
    expect(await settlesWithin(waiting, 100)).to.equal(false);
    await writer.abort();
    expect(((await rejection(waiting)) as P2PError).code).to.equal('cancelled');
    expect(((await rejection(writer.finish())) as P2PError).code).to.equal('cancelled');
    expect(target.aborted).to.equal(true);
    expect(target.closed).to.equal(false);
  });

  it('refuses bad offsets and writes after finish, and closes an empty file', async () => {
    const target = new FakeTarget();
    const writer = new BatchWriter(target);
    expect(await rejection(writer.write(-1, randomBytes(1)))).to.be.instanceOf(RangeError);
    expect(await rejection(writer.write(0.5, randomBytes(1)))).to.be.instanceOf(RangeError);
    await writer.write(0, new Uint8Array(0));
    await writer.finish();
    expect(target.calls).to.have.length(0);
    expect(target.closed).to.equal(true);
    expect(await rejection(writer.write(0, randomBytes(1)))).to.be.instanceOf(P2PError);
  });
});
