/**
 * Small Hono middleware factories for the REST API: security headers, CORS and an origin guard
 * driven by `ALLOWED_ORIGINS`, and a JSON body reader that validates against a valibot schema;
 * Hono's own middleware where it does the job, configured here.
 * Failures throw `ApiError`, which the app turns into the protocol's `{ error }` reply.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import * as v from 'valibot';
import type { ErrorBody, ErrorCode, ErrorReply } from '../protocol/index.js';
import { requestAllowed, type Config } from './config.js';

/** A failure with the status, protocol error code and parameters the client should get. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    /** Sent in the body next to the code (see `ErrorBody`). */
    readonly params: Pick<ErrorBody, 'retryAfterMs'> = {},
  ) {
    super(message);
  }

  /** The response headers that go with it: `Retry-After`, in whole seconds, for a wait. */
  get headers(): Record<string, string> {
    const { retryAfterMs } = this.params;
    return retryAfterMs === undefined ? {} : { 'Retry-After': String(wholeSeconds(retryAfterMs)) };
  }
}

/** A `503 service-unavailable`: the state the processes share (Redis) is out of reach. */
export function unavailable(): ApiError {
  return new ApiError(
    503,
    'service-unavailable',
    'The service cannot reach its shared state right now; try again shortly.',
  );
}

/**
 * A `429 rate-limited` that says how long to wait: exactly in the body's `retryAfterMs`, in whole
 * seconds in its message and `Retry-After`.
 */
export function tooManyRequests(what: string, retryAfterMs: number): ApiError {
  const seconds = wholeSeconds(retryAfterMs);
  return new ApiError(
    429,
    'rate-limited',
    `${what}; wait ${seconds} second${seconds === 1 ? '' : 's'}`,
    {
      retryAfterMs,
    },
  );
}

/** A wait rounded up to whole seconds, at least one: what `Retry-After` can say. */
function wholeSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

export function errorReply(
  c: Context,
  status: ContentfulStatusCode,
  code: ErrorCode,
  message: string,
  params: Pick<ErrorBody, 'retryAfterMs'> = {},
) {
  return c.json<ErrorReply>({ error: { code, message, ...params } }, status);
}

/**
 * Headers every response carries: Hono's secure headers, of which `X-Content-Type-Options:
 * nosniff` and `Referrer-Policy: no-referrer` matter most here (share links carry their key in
 * the fragment, which browsers strip from referrers anyway; no-referrer also keeps the room id in
 * a path from leaking to third parties). A route's own header wins, so the widget's files keep
 * their cross-origin resource policy. HSTS is left to whoever terminates TLS in front of the
 * service: it binds a whole domain (and here its subdomains) to HTTPS, which is not this
 * service's decision to make.
 */
export function securityHeaders(): MiddlewareHandler {
  return secureHeaders({ strictTransportSecurity: false, overwrite: false });
}

/**
 * API replies are data, never documents: nothing in them may load or run, nor may a page frame
 * them.
 */
export function apiHeaders(): MiddlewareHandler {
  return async function apiHeaders(c, next) {
    await next();
    c.header('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
  };
}

/** API replies are per-moment state; no cache may keep them. */
export function noStore(): MiddlewareHandler {
  return async function noStore(c, next) {
    await next();
    c.header('Cache-Control', 'no-store');
  };
}

/** CORS for the REST API: host pages live on other origins. */
export function apiCors({ allowedOrigins }: Pick<Config, 'allowedOrigins'>): MiddlewareHandler {
  return cors({
    origin:
      allowedOrigins === '*' ? '*' : (origin) => (allowedOrigins.includes(origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Content-Type', 'Authorization'],
    // Not a CORS-safelisted response header: without this a host page could not read how long
    // to wait.
    exposeHeaders: ['Retry-After'],
    maxAge: 600,
  });
}

/**
 * Refuses requests that a browser sent from a page whose origin is not allowed: CORS alone would
 * only hide the reply, and a simple POST would still create a room.
 */
export function originGuard(config: Pick<Config, 'allowedOrigins'>): MiddlewareHandler {
  return async function originGuard(c, next) {
    if (requestAllowed(config, c.req.header('origin'))) return next();
    throw new ApiError(403, 'not-allowed', 'This site is not allowed to use this service.');
  };
}

/** Limits a request body's size; an oversized one is a bad request, not a crash or a hang. */
export function limitBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(400, 'bad-request', `The request body is larger than ${maxBytes} bytes.`);
    },
  });
}

/**
 * Reads the request body as JSON and validates it; the output is at `c.get('body')`. `explain`
 * may turn an invalid body into a more specific error than `bad-request`.
 */
export function jsonBody<S extends v.GenericSchema>(
  schema: S,
  options: { explain?: (raw: unknown) => ApiError | undefined } = {},
): MiddlewareHandler<{ Variables: { body: v.InferOutput<S> } }> {
  return async function jsonBody(c, next) {
    let raw: unknown;
    try {
      raw = JSON.parse(await c.req.text());
    } catch {
      throw new ApiError(400, 'bad-request', 'The request body is not valid JSON.');
    }
    const result = v.safeParse(schema, raw);
    if (!result.success) {
      const explained = options.explain?.(raw);
      if (explained) throw explained;
      const issue = result.issues[0];
      const path = v.getDotPath(issue);
      throw new ApiError(
        400,
        'bad-request',
        `The request body is not valid${path ? ` at ${path}` : ''}: ${issue.message}`.slice(0, 300),
      );
    }
    c.set('body', result.output);
    await next();
  };
}
