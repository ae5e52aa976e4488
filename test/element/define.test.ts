/**
 * Registration and import safety: importing the element's class module registers nothing and
 * touches neither the document nor the network; defining twice (a second script tag) is harmless;
 * another tag name still works. The modules are imported inside the tests, after the spies.
 */
import { expect, fixture } from '@open-wc/testing';

type Restore = () => void;

function spy<T extends object, K extends keyof T>(target: T, key: K, calls: string[]): Restore {
  const original = target[key] as unknown as (...args: unknown[]) => unknown;
  (target as Record<K, unknown>)[key] = function (this: unknown, ...args: unknown[]) {
    calls.push(`${String(key)}(${typeof args[0] === 'string' ? args[0] : ''})`);
    return original.apply(this, args);
  };
  return () => {
    (target as Record<K, unknown>)[key] = original;
  };
}

describe('<p2p-share> registration', () => {
  it('touches no DOM, registry, listener or network when the class module is imported', async () => {
    const calls: string[] = [];
    const restore = [
      spy(customElements, 'define', calls),
      spy(window, 'addEventListener', calls),
      spy(document, 'addEventListener', calls),
      spy(document, 'createElement', calls),
      spy(Node.prototype, 'appendChild', calls),
      spy(Node.prototype, 'insertBefore', calls),
      spy(Element.prototype, 'append', calls),
      spy(Element.prototype, 'attachShadow', calls),
      spy(window, 'fetch', calls),
    ];
    const headBefore = document.head.innerHTML;
    try {
      const mod = await import('../../src/p2p-share.js');
      expect(typeof mod.P2PShareElement).to.equal('function');
    } finally {
      for (const undo of restore) undo();
    }
    expect(calls).to.deep.equal([]);
    expect(customElements.get('p2p-share')).to.equal(undefined);
    expect(document.head.innerHTML).to.equal(headBefore);
  });

  it('defines <p2p-share> from the define module, and a second define does not throw', async () => {
    const { P2PShareElement } = await import('../../src/p2p-share.js');
    await import('../../src/p2p-share.define.js');
    expect(customElements.get('p2p-share')).to.equal(P2PShareElement);

    expect(() => P2PShareElement.define()).not.to.throw();
    expect(P2PShareElement.define()).to.equal(P2PShareElement);

    // A second copy of the script brings its own class; the first definition stays.
    class SecondCopy extends P2PShareElement {}
    expect(() => SecondCopy.define()).not.to.throw();
    expect(customElements.get('p2p-share')).to.equal(P2PShareElement);
  });

  it('registers under another tag name too, as a working element', async () => {
    const { P2PShareElement } = await import('../../src/p2p-share.js');
    await import('../../src/p2p-share.define.js');
    const ctor = P2PShareElement.define('file-drop-share');
    expect(customElements.get('file-drop-share')).to.equal(ctor);
    const el = await fixture<InstanceType<typeof P2PShareElement>>(
      '<file-drop-share server="https://share.example/"></file-drop-share>',
    );
    expect(el).to.be.instanceOf(P2PShareElement);
    await el.updateComplete;
    expect(el.shadowRoot!.textContent).to.contain('Drop a file here');
    await expect(el).to.be.accessible();
  });

  it('exports the element from the bundle entry and registers it', async () => {
    const entry = await import('../../src/index.js');
    expect(customElements.get('p2p-share')).to.equal(entry.P2PShareElement);
    expect(entry.ERROR_CODES).to.include('invalid-link');
  });
});
