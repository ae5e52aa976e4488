/**
 * What two peers say to each other through the service, inside a sealed envelope: the offer, the
 * answer, ICE candidates and an early refusal. `s` names the connection attempt (a session id),
 * `n` orders one side's envelopes. The service relays the sealed bytes and never sees these.
 */
import * as v from 'valibot';
import { ERROR_CODES, type ErrorCode } from './errors.js';

export const EnvelopeSchema = v.variant('k', [
  v.strictObject({
    s: v.string(),
    n: v.number(),
    k: v.literal('offer'),
    sdp: v.pipe(v.string(), v.maxLength(20000)),
  }),
  v.strictObject({
    s: v.string(),
    n: v.number(),
    k: v.literal('answer'),
    sdp: v.pipe(v.string(), v.maxLength(20000)),
  }),
  v.strictObject({
    s: v.string(),
    n: v.number(),
    k: v.literal('candidate'),
    c: v.strictObject({
      candidate: v.pipe(v.string(), v.maxLength(1000)),
      sdpMid: v.nullish(v.string()),
      sdpMLineIndex: v.nullish(v.number()),
      usernameFragment: v.nullish(v.string()),
    }),
  }),
  /** The sender refused the connection before a channel existed to say so on. */
  v.strictObject({
    s: v.string(),
    n: v.number(),
    k: v.literal('abort'),
    code: v.picklist(ERROR_CODES),
  }),
]);
/** An ICE candidate as `RTCIceCandidate.toJSON()` gives it (the fields the schema accepts). */
export interface IceCandidate {
  candidate?: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

export type Envelope = v.InferOutput<typeof EnvelopeSchema>;
export type EnvelopeBody =
  | { k: 'offer'; sdp: string }
  | { k: 'answer'; sdp: string }
  | { k: 'candidate'; c: IceCandidate }
  | { k: 'abort'; code: ErrorCode };
