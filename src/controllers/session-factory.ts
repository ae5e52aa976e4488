/**
 * Creates the transfer sessions for the controllers. The engine is imported on demand, so the
 * bundle entry stays small and a page that only shows the widget never loads WebRTC code. Tests
 * replace the factory through the one internal seam below; nothing else should.
 */
import type { LinkSecret } from '../crypto/link.js';
import { P2PError } from '../errors.js';
import type { ReceiveSessionApi, SessionOptions, ShareSessionApi } from '../session/types.js';

export type SaveTo = 'auto' | 'opfs' | 'picker';

export type ShareSessionOptions = SessionOptions;

export interface ReceiveSessionOptions extends SessionOptions {
  secret: LinkSecret;
  saveTo?: SaveTo;
  /** Whether the finished download serves later recipients until told otherwise (default true). */
  seed?: boolean;
}

export interface SessionFactory {
  share(opts: ShareSessionOptions): Promise<ShareSessionApi>;
  receive(opts: ReceiveSessionOptions): Promise<ReceiveSessionApi>;
}

function engineMissing(cause: unknown): P2PError {
  return new P2PError('server-unreachable', { reason: 'script' }, { cause });
}

const engine: SessionFactory = {
  async share(opts) {
    const mod = await import('../session/share-session.js').catch((err: unknown) => {
      throw engineMissing(err);
    });
    return new mod.ShareSession(opts);
  },
  async receive(opts) {
    const mod = await import('../session/receive-session.js').catch((err: unknown) => {
      throw engineMissing(err);
    });
    return new mod.ReceiveSession(opts);
  },
};

let current: SessionFactory = engine;

export function sessionFactory(): SessionFactory {
  return current;
}

/**
 * @internal Test seam: makes the controllers create sessions through `factory` (pass `null` to
 * restore the real engine). Not part of the public API.
 */
export function setSessionFactoryForTesting(factory: SessionFactory | null): void {
  current = factory ?? engine;
}
