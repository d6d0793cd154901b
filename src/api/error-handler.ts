// One place turns every thrown error into the JSON error body of DESIGN.md; 5xx details stay in the log.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { SaleError } from '../domain/errors.ts';
import { errorBody, HttpError, RETRY_AFTER_SECONDS, SALE_ERROR_STATUS } from './errors.ts';

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
};

/** A backing service is down or unreachable: the client may retry, so 503, not 500. */
export function isUnavailable(err: Error & { code?: string }): boolean {
  if (err.name === 'MaxRetriesPerRequestError') return true;
  if (err.code && (/^(08|57P0)/.test(err.code) || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(err.code))) {
    return true;
  }
  // The last two are our own timeouts (REDIS_TIMEOUT_MS, DATABASE_TIMEOUT_MS): a hung server.
  if (/Connection is closed|Connection terminated|timeout exceeded when trying to connect|Stream isn't writeable|Command timed out|Query read timeout/
    .test(err.message)) return true;
  // A Redis Cluster in the middle of moving a slot or failing over: the command did not run (a
  // redirection inside a pipeline, such as a join and its WAIT, reaches the caller unfollowed; a
  // script called in a pipeline on a slot's new master that has not loaded it yet), or its master
  // died with the command in flight.
  return /^(TRYAGAIN|CLUSTERDOWN|MOVED|ASK|NOSCRIPT) |^Too many Cluster redirections|^Command aborted due to connection close/.test(err.message);
}

export function handleError(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof SaleError) return send(reply, SALE_ERROR_STATUS[err.code], err.code, err.message, undefined, err.details);
  if (err instanceof HttpError) return send(reply, err.statusCode, err.code, err.message, err.retryAfterSeconds);
  if (err.validation) return reply.code(400).send(errorBody('invalid_request', err.message));
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    const code = FASTIFY_CODES[err.code] ?? (err.statusCode === 429 ? 'rate_limited' : 'bad_request');
    return reply.code(err.statusCode).send(errorBody(code, err.message));
  }
  if (isUnavailable(err)) {
    req.log.warn({ err: err.message }, 'backing service unavailable');
    return send(reply, 503, 'service_unavailable', 'A backing service is unavailable; try again in a few seconds.');
  }
  req.log.error({ err }, 'request failed');
  return reply.code(500).send(errorBody('internal_error', 'Something went wrong on our side; it has been logged.'));
}

/** Every 503 says when to come back (the rate limits set their own Retry-After on a 429). */
function send(reply: FastifyReply, status: number, code: string, message: string, retryAfterSeconds?: number, details?: Record<string, unknown>) {
  const retryAfter = retryAfterSeconds ?? (status === 503 ? RETRY_AFTER_SECONDS : undefined);
  if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
  return reply.code(status).send(errorBody(code, message, details));
}

const FRAMEWORK_ERRORS: Record<string, [number, string, string]> = {
  FST_ERR_BAD_URL: [400, 'bad_url', 'The URL is not valid: check its percent-encoding.'],
  FST_ERR_MAX_PARAM_LENGTH: [414, 'uri_too_long', 'A part of the path is too long.'],
};

/** Fastify's `frameworkErrors`: failures before routing (a URL it cannot decode), in the same JSON shape. */
export function handleFrameworkError(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  const known = FRAMEWORK_ERRORS[err.code];
  if (!known) return handleError(err, req, reply);
  return reply.code(known[0]).send(errorBody(known[1], known[2]));
}

/** Fastify's `clientErrorHandler`: requests Node's HTTP parser refuses, answered in the same JSON shape. */
export function handleClientError(err: Error & { code?: string }, socket: Socket) {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'headers_too_large', 'The request headers are too large.']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'request_timeout', 'The request took too long to arrive.']
        : [400, 'bad_request', 'The request is not valid HTTP.'];
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}
