/**
 * DropController and CopyController on a small host element: what the <p2p-share> tests cannot
 * reach quickly or at all (the "Copied" timer, teardown when the host leaves the page, copying on
 * a page without the Clipboard API, drops that carry no file).
 */
import { expect, fixture, html as fixtureHtml, waitUntil } from '@open-wc/testing';
import { LitElement, html } from 'lit';
import { CopyController } from '../../src/controllers/copy-controller.js';
import { DropController } from '../../src/controllers/drop-controller.js';
import { makeFile } from './helpers.js';

const COPIED_FOR_MS = 100;

class ControllerHost extends LitElement {
  dropped: File[][] = [];
  updates = 0;
  readonly drop = new DropController(this, (files) => this.dropped.push(files));
  readonly copier = new CopyController(this, {
    field: () => this.renderRoot.querySelector('input'),
    copiedFor: COPIED_FOR_MS,
  });

  protected override updated(): void {
    this.updates++;
  }

  override render() {
    return html`<div
        class=${this.drop.dragging ? 'zone dragging' : 'zone'}
        @dragenter=${this.drop.handleDragEnter}
        @dragover=${this.drop.handleDragOver}
        @dragleave=${this.drop.handleDragLeave}
        @drop=${this.drop.handleDrop}
      >
        Drop here
      </div>
      <input aria-label="Link" readonly .value=${'https://example.test/#p2p=x'} />
      <p>${this.copier.copied ? 'Copied' : this.copier.hint ? 'Select and copy' : 'Copy'}</p>`;
  }
}
customElements.define('test-controller-host', ControllerHost);

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function drag(target: Element, type: string, transfer: DataTransfer): DragEvent {
  const event = new DragEvent(type, { dataTransfer: transfer, cancelable: true });
  target.dispatchEvent(event);
  return event;
}

function withFiles(...files: File[]): DataTransfer {
  const transfer = new DataTransfer();
  for (const file of files) transfer.items.add(file);
  return transfer;
}

describe('DropController and CopyController', () => {
  let writeText: Clipboard['writeText'];
  let execCommand: Document['execCommand'];

  beforeEach(() => {
    writeText = navigator.clipboard.writeText;
    execCommand = document.execCommand;
  });

  afterEach(() => {
    navigator.clipboard.writeText = writeText;
    document.execCommand = execCommand;
  });

  async function host(): Promise<ControllerHost> {
    return fixture<ControllerHost>(fixtureHtml`<test-controller-host></test-controller-host>`);
  }

  function shown(el: ControllerHost): string {
    return el.renderRoot.querySelector('p')!.textContent!;
  }

  it('is accessible as used here', async () => {
    const el = await host();
    await expect(el).to.be.accessible();
  });

  it('counts enters and leaves, never below zero', async () => {
    const el = await host();
    const zone = el.renderRoot.querySelector('.zone')!;
    const files = withFiles(makeFile('a', 'a'));
    drag(zone, 'dragleave', files);
    drag(zone, 'dragleave', files);
    drag(zone, 'dragenter', files);
    await el.updateComplete;
    expect(el.drop.dragging, 'stray leaves are not owed').to.equal(true);
    drag(zone, 'dragleave', files);
    await el.updateComplete;
    expect(el.drop.dragging).to.equal(false);
    expect(zone.classList.contains('dragging')).to.equal(false);
  });

  it('re-renders the host only when the highlight changes', async () => {
    const el = await host();
    const zone = el.renderRoot.querySelector('.zone')!;
    const files = withFiles(makeFile('a', 'a'));
    drag(zone, 'dragenter', files);
    await el.updateComplete;
    const updates = el.updates;
    for (let i = 0; i < 5; i++) {
      expect(drag(zone, 'dragover', files).defaultPrevented).to.equal(true);
      await el.updateComplete;
    }
    expect(el.updates).to.equal(updates);
  });

  it('hands the dropped files to the host, and nothing for a drop without files', async () => {
    const el = await host();
    const zone = el.renderRoot.querySelector('.zone')!;
    const file = makeFile('a.txt', 'a');
    drag(zone, 'dragenter', withFiles(file));
    const text = new DataTransfer();
    text.setData('text/plain', 'words');
    const empty = drag(zone, 'drop', text);
    await el.updateComplete;
    expect(empty.defaultPrevented, 'the browser must not navigate to the text').to.equal(true);
    expect(el.drop.dragging).to.equal(false);
    expect(el.dropped).to.deep.equal([]);

    drag(zone, 'drop', withFiles(file));
    expect(el.dropped).to.have.length(1);
    expect(el.dropped[0]![0]).to.equal(file);
  });

  it('says Copied for a moment, then Copy again', async () => {
    const el = await host();
    navigator.clipboard.writeText = async () => {};
    expect(await el.copier.copy('x')).to.equal(true);
    await el.updateComplete;
    expect(shown(el)).to.equal('Copied');
    await waitUntil(() => shown(el) === 'Copy', 'Copied stayed');
  });

  it('restarts the moment on a second copy', async () => {
    const el = await host();
    navigator.clipboard.writeText = async () => {};
    await el.copier.copy('x');
    await wait(COPIED_FOR_MS / 2);
    const again = performance.now();
    await el.copier.copy('x');
    await waitUntil(() => !el.copier.copied, 'Copied stayed');
    // Timers never fire early, so only the first copy's timer could end the moment sooner.
    expect(performance.now() - again).to.be.at.least(COPIED_FOR_MS - 2);
  });

  it('stops its timer and forgets the copy when the host leaves the page', async () => {
    const el = await host();
    navigator.clipboard.writeText = async () => {};
    await el.copier.copy('x');
    await el.updateComplete;
    el.remove();
    expect(el.copier.copied).to.equal(false);
    await el.updateComplete;
    const updates = el.updates;
    // Set after the copy's timer with the same delay, this wait ends after that timer would have.
    await wait(COPIED_FOR_MS);
    await el.updateComplete;
    expect(el.updates, 'no timer fires after removal').to.equal(updates);
  });

  it('copies through the selection on a page without the Clipboard API', async () => {
    const el = await host();
    const own = Object.getOwnPropertyDescriptor(navigator, 'clipboard');
    Object.defineProperty(navigator, 'clipboard', { value: undefined, configurable: true });
    const commands: string[] = [];
    document.execCommand = (command: string) => {
      commands.push(command);
      return true;
    };
    try {
      expect(await el.copier.copy('x')).to.equal(true);
    } finally {
      if (own) Object.defineProperty(navigator, 'clipboard', own);
      else delete (navigator as { clipboard?: Clipboard }).clipboard;
    }
    expect(navigator.clipboard).to.be.instanceOf(Clipboard);
    expect(commands).to.deep.equal(['copy']);
    expect(el.copier.hint).to.equal(false);
  });

  it('leaves the field selected with a hint when execCommand throws', async () => {
    const el = await host();
    navigator.clipboard.writeText = () => Promise.reject(new DOMException('no', 'NotAllowedError'));
    document.execCommand = () => {
      throw new Error('unsupported');
    };
    expect(await el.copier.copy('x')).to.equal(false);
    await el.updateComplete;
    const input = el.renderRoot.querySelector('input')!;
    expect(el.shadowRoot!.activeElement).to.equal(input);
    expect(input.selectionEnd! - input.selectionStart!).to.equal(input.value.length);
    expect(shown(el)).to.equal('Select and copy');

    el.copier.reset();
    await el.updateComplete;
    expect(shown(el)).to.equal('Copy');
  });
});
