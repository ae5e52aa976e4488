/** The wire protocol shared by the widget and the signalling service. */
export * from './envelope.js';
export * from './errors.js';
export * from './frames.js';
export * from './ids.js';
export * from './media.js';
export * from './meta.js';
export * from './sealing.js';
export * from './signalling.js';
export * from './version.js';
