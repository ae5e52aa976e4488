import { expect } from '@open-wc/testing';
import { sendMouse } from '@web/test-runner-commands';
import { P2PError } from '../../src/errors.js';
import { openSink, type Sink, type SinkOptions } from '../../src/sinks/sink.js';
import {
  MiB,
  clearOpfs,
  opfsNames,
  pieces,
  randomBytes,
  rejection,
  replace,
  sha256,
} from './helpers.js';

type Picker = (options?: { suggestedName?: string }) => Promise<FileSystemFileHandle>;

const PICKED_DIRECTORY = 'picked-by-test';
let room = 0;

function options(prefer: SinkOptions['prefer'], size = MiB): SinkOptions {
  room += 1;
  return {
    name: 'notes/../report 📄.txt',
    size,
    roomId: `picker-room-${room}-${Date.now()}`,
    prefer,
  };
}

/** Runs `action` inside a real click, which gives the page transient user activation. */
async function inUserGesture<T>(action: () => Promise<T>): Promise<T> {
  const button = document.createElement('button');
  button.textContent = 'download';
  button.style.cssText = 'position:fixed;left:10px;top:10px;width:100px;height:40px';
  document.body.append(button);
  try {
    // Boxed, so the click handler's promise is not adopted and its rejection stays handled.
    const clicked = new Promise<{ result: Promise<T> }>((resolve) => {
      button.addEventListener(
        'click',
        () => {
          const result = action();
          result.catch(() => undefined);
          resolve({ result });
        },
        { once: true },
      );
    });
    await sendMouse({ type: 'click', position: [50, 30] });
    return await (
      await clicked
    ).result;
  } finally {
    button.remove();
  }
}

describe('picker sink', () => {
  const restores: Array<() => void> = [];
  const sinks: Sink[] = [];
  let suggested: Array<string | undefined> = [];

  /** Stands in for the dialog: "the user picks" a real file, in OPFS, so bytes hit the disk. */
  function pickRealFile(): void {
    suggested = [];
    const picker: Picker = async (pickerOptions) => {
      suggested.push(pickerOptions?.suggestedName);
      const root = await navigator.storage.getDirectory();
      const directory = await root.getDirectoryHandle(PICKED_DIRECTORY, { create: true });
      return directory.getFileHandle(pickerOptions?.suggestedName ?? 'unnamed', { create: true });
    };
    restores.push(
      replace(window as Window & { showSaveFilePicker?: Picker }, 'showSaveFilePicker', picker),
    );
  }

  function pickerThrows(name: string): void {
    const picker: Picker = async () => {
      throw new DOMException('nope', name);
    };
    restores.push(
      replace(window as Window & { showSaveFilePicker?: Picker }, 'showSaveFilePicker', picker),
    );
  }

  afterEach(async () => {
    while (restores.length) restores.pop()!();
    for (const sink of sinks.splice(0)) await sink.abort().catch(() => undefined);
    const root = await navigator.storage.getDirectory();
    await root.removeEntry(PICKED_DIRECTORY, { recursive: true }).catch(() => undefined);
    await clearOpfs();
  });

  it('writes into the picked file, whose bytes match the source', async () => {
    pickRealFile();
    const source = randomBytes(5 * MiB + 99);
    const sink = await openSink(options('picker', source.length));
    sinks.push(sink);
    expect(sink.kind).to.equal('picker');
    expect(suggested).to.deep.equal(['notes_.._report 📄.txt']);
    for (const [offset, length] of pieces(source.length, 512 * 1024).reverse()) {
      await sink.write(offset, source.slice(offset, offset + length));
    }
    const file = await sink.finish();
    expect(file.name).to.equal('notes_.._report 📄.txt');
    expect(await sha256(file)).to.equal(await sha256(source));
    // Written where the user chose, not into the sinks' own directory.
    expect(await opfsNames()).to.deep.equal([]);
    const root = await navigator.storage.getDirectory();
    const picked = await (await root.getDirectoryHandle(PICKED_DIRECTORY)).getFileHandle(file.name);
    expect(await sha256(await picked.getFile())).to.equal(await sha256(source));
  });

  it('save() does nothing for a picked file: it is already where the user wanted it', async () => {
    pickRealFile();
    let clicked = 0;
    restores.push(
      replace(HTMLAnchorElement.prototype, 'click', () => {
        clicked++;
      }),
    );
    const sink = await openSink(options('picker', 3));
    await sink.write(0, new Uint8Array([1, 2, 3]));
    const file = await sink.finish();
    await sink.save(file, file.name);
    expect(clicked).to.equal(0);
  });

  it('turns a dismissed dialog into cancelled', async () => {
    pickerThrows('AbortError');
    const error = (await rejection(openSink(options('picker')))) as P2PError;
    expect(error).to.be.instanceOf(P2PError);
    expect(error.code).to.equal('cancelled');
    expect(error.params).to.deep.equal({ reason: 'no-location' });
  });

  it('reports a picker refused outside a gesture as not-allowed when the picker was asked for', async () => {
    pickerThrows('SecurityError');
    const error = (await rejection(openSink(options('picker')))) as P2PError;
    expect(error.code).to.equal('not-allowed');
    expect(error.params).to.deep.equal({ reason: 'picker' });
  });

  it('reports a browser without a picker as unsupported-browser when the picker was asked for', async () => {
    restores.push(
      replace(window as Window & { showSaveFilePicker?: Picker }, 'showSaveFilePicker', undefined),
    );
    const error = (await rejection(openSink(options('picker')))) as P2PError;
    expect(error.code).to.equal('unsupported-browser');
    expect(error.params).to.deep.equal({ reason: 'no-picker' });
  });

  it("'auto' outside a user gesture uses OPFS without showing a dialog", async () => {
    pickRealFile();
    expect(navigator.userActivation.isActive).to.equal(false);
    const sink = await openSink(options('auto'));
    sinks.push(sink);
    expect(sink.kind).to.equal('opfs');
    expect(suggested).to.deep.equal([]);
  });

  it("'auto' inside a click uses the picker", async () => {
    pickRealFile();
    const sink = await inUserGesture(() => openSink(options('auto')));
    sinks.push(sink);
    expect(sink.kind).to.equal('picker');
    expect(suggested).to.have.length(1);
  });

  it("'auto' falls back to OPFS when the page may not show a picker", async () => {
    pickerThrows('SecurityError');
    const sink = await inUserGesture(() => openSink(options('auto')));
    sinks.push(sink);
    expect(sink.kind).to.equal('opfs');
  });

  it("'auto' still honours a dismissed dialog as cancelled", async () => {
    pickerThrows('AbortError');
    const error = (await rejection(inUserGesture(() => openSink(options('auto'))))) as P2PError;
    expect(error.code).to.equal('cancelled');
  });
});
