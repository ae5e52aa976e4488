/**
 * The path every incoming socket event takes before and after its handler: the socket's token
 * bucket and its client address's (shared by all that address's sockets; a flood is
 * disconnected), the event name, one socket's events handled in order of
 * arrival, the payload checked against its schema, and the answer through the ack. Every
 * failure becomes an error acknowledgement, never a throw. It knows no event by name; the
 * handlers it runs are given to it.
 */
import * as v from 'valibot';
import { errorAck, type Ack, type ErrorBody } from '../../protocol/index.js';
import type { Config } from '../config.js';
import { TokenBucket } from '../limits.js';
import { errorKind, type Logger } from '../log.js';
import type { ErrorAck, SignallingSocket } from './context.js';
import { StoreUnavailable, UNAVAILABLE_MESSAGE, UNAVAILABLE_RETRY_MS } from '../store/store.js';

/** An event the service answers: how its payload is checked, and what handles it. */
export interface Handler {
  schema: v.GenericSchema;
  handle: (socket: SignallingSocket, payload: unknown) => Promise<Ack<object>>;
  /** A refusal more telling than "not valid", for some invalid payloads. */
  onInvalid?: (raw: unknown) => ErrorAck | undefined;
  /**
   * How the sender of this event hears of a failure when it sent the event without an ack.
   * Without it an event sent without an ack is dropped unhandled.
   */
  tellFailure?: (socket: SignallingSocket, raw: unknown, error: ErrorBody) => void;
}

export function handler<S extends v.GenericSchema>(
  schema: S,
  handle: (socket: SignallingSocket, payload: v.InferOutput<S>) => Promise<Ack<object>>,
  options: Pick<Handler, 'onInvalid' | 'tellFailure'> = {},
): Handler {
  // Sound: `dispatch` hands `handle` only what `schema` parsed.
  return { schema, handle: handle as Handler['handle'], ...options };
}

/**
 * A socket that was refused more messages than its burst allowance within this long is flooding
 * on purpose (a well-behaved client backs off at its first `rate-limited`), and is disconnected.
 */
const FLOOD_WINDOW_MS = 10_000;

/** An event that arrived while an earlier one of its socket was being handled. */
interface Pending {
  event: string;
  handler: Handler;
  args: unknown[];
}

/** What the service keeps per socket besides Socket.IO's own. */
class SocketState {
  /** Refusals since `refusedSince`: past the burst allowance within the window is a flood. */
  refused = 0;
  refusedSince = 0;
  /** An event is being handled; later ones wait in `waiting`, in order. */
  busy = false;
  waiting: Pending[] | null = null;

  constructor(
    readonly bucket: TokenBucket,
    /** The client address's bucket, shared with its other sockets. */
    readonly address: TokenBucket,
  ) {}
}

export interface SocketPipelineOptions {
  config: Pick<Config, 'socketMessagesPerSecond' | 'socketMessageBurst'>;
  logger: Logger;
  /** Each event the service answers, by name. */
  handlers: ReadonlyMap<string, Handler>;
  /** Told of every refusal: the event (`unknown` for one it does not know) and the code. */
  refused?: (event: string, code: string) => void;
}

export class SocketPipeline {
  constructor(private readonly options: SocketPipelineOptions) {}

  /**
   * Puts every event `socket` sends from now on through the pipeline; each takes a token from
   * the socket's own bucket and from `address`, its client address's.
   */
  attach(socket: SignallingSocket, address: TokenBucket): void {
    const { socketMessagesPerSecond, socketMessageBurst } = this.options.config;
    const state = new SocketState(
      new TokenBucket(socketMessagesPerSecond, socketMessageBurst),
      address,
    );
    socket.onAny((event: unknown, ...args: unknown[]) => this.#receive(socket, state, event, args));
  }

  /**
   * Every incoming event arrives here before any handler: first the rate limit, then the event
   * name. What is refused goes no further; the rest is handled in order of arrival.
   */
  #receive(socket: SignallingSocket, state: SocketState, event: unknown, args: unknown[]): void {
    const { config, logger, handlers } = this.options;
    // A packet decoded just before the connection closed still arrives; it is not handled.
    if (!socket.connected) return;
    // Looked up before the rate limit only so that a refusal reaches the sender as its event's
    // answers do.
    const known = typeof event === 'string' ? handlers.get(event) : undefined;
    if (!state.bucket.take() || !state.address.take()) {
      const now = performance.now();
      if (now - state.refusedSince > FLOOD_WINDOW_MS) {
        state.refused = 0;
        state.refusedSince = now;
      }
      if (++state.refused > config.socketMessageBurst) {
        logger.warn('socket.flooding', { refused: state.refused });
        socket.disconnect(true);
        return;
      }
      logger.debug('socket.rejected', { event: 'any', code: 'rate-limited' });
      this.options.refused?.(known ? (event as string) : 'unknown', 'rate-limited');
      const retryAfterMs = Math.ceil(
        Math.max(state.bucket.msUntilToken(), state.address.msUntilToken()),
      );
      answer(
        socket,
        known,
        args,
        errorAck('rate-limited', 'Too many messages; slow down and try again.', { retryAfterMs }),
      );
      return;
    }
    if (!known) {
      logger.debug('socket.rejected', { event: 'unknown', code: 'bad-request' });
      this.options.refused?.('unknown', 'bad-request');
      answer(socket, undefined, args, errorAck('bad-request', 'Unknown event.'));
      return;
    }
    // One socket's events are handled one after another: a store that answers out of order
    // (Redis, say) must not let a candidate overtake the offer it belongs to.
    const pending: Pending = { event: event as string, handler: known, args };
    if (state.busy) {
      (state.waiting ??= []).push(pending);
      return;
    }
    state.busy = true;
    void this.#drain(socket, state, pending);
  }

  async #drain(socket: SignallingSocket, state: SocketState, first: Pending): Promise<void> {
    for (let next: Pending | undefined = first; next; next = state.waiting?.shift()) {
      try {
        await this.#dispatch(socket, next);
      } catch {
        // `dispatch` settles every failure itself; only a broken log sink could land here.
      }
    }
    state.busy = false;
  }

  /**
   * Runs one event: takes the ack off the end, validates the single payload, runs the handler and
   * answers. Without an ack function the event is dropped, unless its handler says how its
   * sender hears of a failure.
   */
  async #dispatch(socket: SignallingSocket, { event, handler, args }: Pending): Promise<void> {
    const { logger } = this.options;
    const acked = typeof args.at(-1) === 'function';
    if (!acked && !handler.tellFailure) {
      logger.debug('socket.rejected', { event, code: 'no-ack' });
      return;
    }
    let res: Ack<object>;
    try {
      if (args.length !== (acked ? 2 : 1) || !isPlainObject(args[0])) {
        res = errorAck('bad-request', `"${event}" takes one object as its payload.`);
      } else {
        const parsed = v.safeParse(handler.schema, args[0]);
        res = parsed.success
          ? await handler.handle(socket, parsed.output)
          : (handler.onInvalid?.(args[0]) ??
            errorAck(
              'bad-request',
              `The "${event}" payload is not valid: ${parsed.issues[0].message}`.slice(0, 300),
            ));
      }
    } catch (err) {
      if (err instanceof StoreUnavailable) {
        res = errorAck('service-unavailable', UNAVAILABLE_MESSAGE, {
          retryAfterMs: UNAVAILABLE_RETRY_MS,
        });
      } else {
        logger.error('socket.handler-failed', { event, kind: errorKind(err) });
        res = errorAck('internal', 'The service failed to handle this message.');
      }
    }
    if (!res.ok) {
      logger.debug('socket.rejected', { event, code: res.error.code });
      this.options.refused?.(event, res.error.code);
    }
    answer(socket, handler, args, res);
  }
}

/**
 * Answers an event through its ack; sent without one, the sender hears only of a failure, and
 * only of an event whose handler says how.
 */
function answer(
  socket: SignallingSocket,
  handler: Handler | undefined,
  args: unknown[],
  res: Ack<object>,
): void {
  const ack = args.at(-1);
  if (typeof ack === 'function') {
    try {
      (ack as (res: unknown) => void)(res);
    } catch {
      // The socket may have gone; there is nobody left to tell.
    }
  } else if (!res.ok) {
    handler?.tellFailure?.(socket, args[0], res.error);
  }
}

/** Object schemas accept arrays and buffers with no offending keys; payloads are never those. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
