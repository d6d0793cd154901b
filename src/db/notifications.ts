// PostgreSQL notifications (LISTEN) on a connection of their own, kept open: a lost connection is
// opened again after a second, and `onReconnect` says that what was sent meanwhile is gone.
import pg from 'pg';
import type { Logger } from 'pino';

export interface Listener {
  close(): Promise<void>;
}

export function listen(
  connectionString: string, channel: string, log: Logger,
  handlers: { onNotify: (payload: string) => void; onReconnect: () => void },
): Listener {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let connectedBefore = false;

  const connect = async () => {
    const c = new pg.Client({ connectionString });
    client = c;
    c.on('notification', (n) => n.channel === channel && handlers.onNotify(n.payload ?? ''));
    c.on('error', (err) => {
      log.warn({ err: err.message, channel }, 'PostgreSQL listener lost its connection');
      again();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      if (connectedBefore) handlers.onReconnect();
      connectedBefore = true;
    } catch (err) {
      log.warn({ err: (err as Error).message, channel }, 'PostgreSQL listener could not connect');
      again();
    }
  };
  const again = () => {
    void client?.end().catch(() => undefined);
    client = undefined;
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, 1_000);
  };
  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    },
  };
}
