// One place turns every thrown error into the JSON error body of DESIGN.md; 5xx details stay in the log.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.ts';

export const errorBody = (code: string, message: string) => ({ error: { code, message } });

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
  return /Connection is closed|Connection terminated|timeout exceeded when trying to connect|Stream isn't writeable/.test(
    err.message,
  );
}

export function handleError(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof AppError) return reply.code(err.statusCode).send(errorBody(err.code, err.message));
  if (err.validation) return reply.code(400).send(errorBody('invalid_request', err.message));
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    const code = FASTIFY_CODES[err.code] ?? (err.statusCode === 429 ? 'rate_limited' : 'bad_request');
    return reply.code(err.statusCode).send(errorBody(code, err.message));
  }
  if (isUnavailable(err)) {
    req.log.warn({ err: err.message }, 'backing service unavailable');
    return reply.code(503).send(errorBody('service_unavailable', 'A backing service is unavailable; try again in a few seconds.'));
  }
  req.log.error({ err }, 'request failed');
  return reply.code(500).send(errorBody('internal_error', 'Something went wrong on our side; it has been logged.'));
}
