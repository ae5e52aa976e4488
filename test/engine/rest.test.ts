/**
 * The REST client's failures as data: the service's code (never its English), the wait of a rate
 * limit from the body or the Retry-After header, and what it says when no service answers.
 */
import { expect } from '@open-wc/testing';
import { P2PError, errorData } from '../../src/errors.js';
import { errorMessage } from '../../src/ui/text.js';
import { RestClient, retryAfter } from '../../src/signal/rest.js';

const SERVER = 'https://share.example/';

/** Answers every fetch with `respond()` until the test ends. */
function answer(respond: () => Response | Promise<Response>): () => void {
  const original = globalThis.fetch;
  globalThis.fetch = () => Promise.resolve(respond());
  return () => {
    globalThis.fetch = original;
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

async function failure(promise: Promise<unknown>): Promise<P2PError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).to.be.instanceOf(P2PError);
  return err as P2PError;
}

describe('RestClient failures', () => {
  let restore: () => void = () => {};
  afterEach(() => restore());

  it("takes a rate limit's wait from the body, to the millisecond", async () => {
    restore = answer(() =>
      json(
        429,
        { error: { code: 'rate-limited', message: 'Wait 2 minutes.', retryAfterMs: 95_000 } },
        { 'retry-after': '120' },
      ),
    );
    const error = await failure(new RestClient(SERVER).unlock('room', 'proof'));
    expect(error.code).to.equal('rate-limited');
    expect(error.params).to.deep.equal({ retryAfterMs: 95_000 });
  });

  it('takes the wait from the Retry-After header when the body has none', async () => {
    restore = answer(() =>
      json(
        429,
        { error: { code: 'rate-limited', message: 'Slow down.' } },
        { 'retry-after': '95' },
      ),
    );
    const error = await failure(new RestClient(SERVER).unlock('room', 'proof'));
    expect(error.params).to.deep.equal({ retryAfterMs: 95_000 });
  });

  it('keeps no wait when neither says one', async () => {
    restore = answer(() => json(429, { error: { code: 'rate-limited', message: 'Slow down.' } }));
    const error = await failure(new RestClient(SERVER).unlock('room', 'proof'));
    expect(error.code).to.equal('rate-limited');
    expect(error.params).to.deep.equal({});
  });

  it("keeps the service's code and leaves its English out", async () => {
    restore = answer(() =>
      json(404, { error: { code: 'room-not-found', message: 'This share does not exist.' } }),
    );
    const error = await failure(new RestClient(SERVER).getRoom('room'));
    expect(errorData(error)).to.deep.equal({ code: 'room-not-found' });
    expect(errorMessage(errorData(error))).not.to.contain('This share does not exist.');
    expect(error.message, 'kept for logs').to.equal('room-not-found: This share does not exist.');
  });

  it('names the host and status when something else answers', async () => {
    restore = answer(() => new Response('<h1>Bad gateway</h1>', { status: 502 }));
    const error = await failure(new RestClient(SERVER).getIce());
    expect(error.code).to.equal('server-unreachable');
    expect(error.params).to.deep.equal({
      reason: 'not-a-service',
      host: 'share.example',
      status: 502,
    });
  });

  it('names the host when nothing answers, and a reply it cannot read as the service', async () => {
    restore = answer(() => Promise.reject(new TypeError('Failed to fetch')));
    const unreachable = await failure(new RestClient(SERVER).getIce());
    expect(unreachable.params).to.deep.equal({ reason: 'unreachable', host: 'share.example' });
    restore();
    restore = answer(() => json(200, { nonsense: true }));
    const odd = await failure(new RestClient(SERVER).getIce());
    expect(odd.code).to.equal('protocol-mismatch');
    expect(odd.params).to.deep.equal({ reason: 'service' });
  });

  it('reads Retry-After as seconds or as a date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfter('12', now)).to.equal(12_000);
    expect(retryAfter('Wed, 01 Jan 2025 00:01:35 GMT', now)).to.equal(95_000);
    expect(retryAfter('0', now)).to.equal(undefined);
    expect(retryAfter('soon', now)).to.equal(undefined);
    expect(retryAfter(null, now)).to.equal(undefined);
  });
});
