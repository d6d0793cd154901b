// The process's logger (pino, JSON lines): tokens and credentials never reach the log.
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.ts';

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * Fastify's request serializer, less the query string: the buyer's secret token travels in it
 * (GET /reservation/status?token=, the live stream), and a URL-encoded name would slip past any
 * pattern matching `token=`.
 */
function serializeRequest(req: LoggedRequest) {
  const [path, query] = (req.url ?? '').split('?', 2);
  return {
    method: req.method,
    url: query === undefined ? path : `${path}?[redacted]`,
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** `destination` defaults to stdout; tests pass a stream to read what was logged. */
export function createLogger(config: Config, destination?: DestinationStream): Logger {
  const options = {
    level: config.LOG_LEVEL,
    serializers: { req: serializeRequest },
    // err.command.args: ioredis puts a failed command's arguments (tokens) on the error;
    // err.detail: PostgreSQL names the offending key's value there.
    redact: ['req.headers.authorization', '*.token', 'token', 'err.command.args', 'err.detail'],
  };
  return destination ? pino(options, destination) : pino(options);
}

