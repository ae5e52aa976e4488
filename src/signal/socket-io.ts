/**
 * The one part of socket.io-client the widget uses, as a module of its own: the signalling
 * client imports it lazily, and a dynamic import keeps every export of the module it names, so
 * naming socket.io-client itself would keep its unused transports (long-polling, WebTransport)
 * in the bundle.
 */
export { io } from 'socket.io-client';
