/**
 * Registers `<p2p-share>` (what the bundle entry does on load). Safe to run twice: a second copy
 * of the script finds the name taken and leaves the first definition in place. Outside a browser
 * there is no registry and it does nothing.
 */
import { P2PShareElement } from './p2p-share.js';

if (typeof customElements !== 'undefined') P2PShareElement.define();

declare global {
  interface HTMLElementTagNameMap {
    'p2p-share': P2PShareElement;
  }
}

export { P2PShareElement };
