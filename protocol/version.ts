/**
 * The wire protocol version. Bumped on any incompatible change to a socket event, a REST body or
 * a data-channel frame; both sides refuse a peer that speaks another version.
 */
export const PROTOCOL_VERSION = 4;
