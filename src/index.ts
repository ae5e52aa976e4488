/**
 * The bundle entry (`dist/p2p-share.js`, and the package's `p2p-share/define`): defines
 * `<p2p-share>` and exports what the package's main entry (api.ts) does. The transfer engine is
 * not imported here; the element loads it when it is first needed.
 */
import './p2p-share.define.js';

export * from './api.js';
