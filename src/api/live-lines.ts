// Live status for the buyers streaming from this process (GET /queue/stream). One Redis subscriber
// per process; a ticket type's channel `queue:{id}:events` is subscribed while a local client
// watches that line. Each message is one broadcast for the whole line (served counter, hold
// expiry, changed tokens), whichever process caused it: positions are derived here from each
// client's sequence number, so a moving line costs no Redis work per client.
import type { ServerResponse } from 'node:http';
import type { Context } from '../context.ts';
import { unavailable } from '../domain/errors.ts';
import { FINAL_STATUSES, type Status, type StatusReport } from '../domain/status.ts';
import { tokenTicketType } from '../domain/token.ts';
import { createRedis, type RedisClient } from '../redis/client.ts';
import type { Sale } from '../sale/sale.ts';
import { eventId, supersedes } from './stream-events.ts';

/** Position events reach one client at most this often. */
const POSITION_INTERVAL_MS = 1_000;
const HEARTBEAT_MS = 15_000;
/** After a hold's expiry, ask for its fate ourselves if no broadcast told us (no sweeper running). */
const EXPIRY_GRACE_MS = 2_000;
/** A client that does not read its stream is dropped rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 64 * 1024;
const RECONNECT_DELAY_MS = 3_000;

interface Broadcast {
  served?: number;
  expires_at?: string;
  changes?: Record<string, Status>;
}

export class LiveClient {
  report?: StatusReport;
  /** While pending: the token's sequence number, from which every later position follows. */
  seq?: number;
  lastPositionAt = 0;
  private res?: ServerResponse;
  private sentId?: string;
  private expiryTimer?: NodeJS.Timeout;
  closed = false;

  constructor(
    private readonly hub: LiveLines,
    readonly token: string,
    readonly ticketTypeId: number,
  ) {}

  get terminal(): boolean {
    return !!this.report && FINAL_STATUSES.has(this.report.status);
  }

  /** Starts the event stream on `res`; `lastEventId` (a reconnecting client's) suppresses a repeat. */
  attach(res: ServerResponse, lastEventId: string | undefined): void {
    this.res = res;
    this.sentId = lastEventId;
    res.on('close', () => this.hub.drop(this));
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Proxies such as nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    this.write(`retry: ${RECONNECT_DELAY_MS}\n\n`);
    this.flush();
  }

  apply(report: StatusReport): void {
    if (this.closed || !supersedes(report, this.report)) return;
    this.report = report;
    if (report.status === 'reserved' && !this.expiryTimer) {
      const due = Date.parse(report.expires_at!) + EXPIRY_GRACE_MS - Date.now();
      this.expiryTimer = setTimeout(() => void this.hub.refresh(this), Math.max(0, due));
    }
    this.flush();
  }

  heartbeat(): void {
    if (this.res) this.write(': keep-alive\n\n');
  }

  end(): void {
    this.closed = true;
    clearTimeout(this.expiryTimer);
    if (this.res && !this.res.writableEnded) this.res.end();
  }

  private flush(): void {
    if (!this.res || this.closed || !this.report) return;
    const id = eventId(this.report);
    if (id === this.sentId) return;
    this.sentId = id;
    if (this.report.status === 'pending') this.lastPositionAt = Date.now();
    this.write(`id: ${id}\ndata: ${JSON.stringify(this.report)}\n\n`);
    if (this.terminal) this.hub.drop(this);
  }

  private write(chunk: string): void {
    if (this.closed || !this.res) return;
    this.res.write(chunk);
    if (this.res.writableLength > MAX_BUFFERED_BYTES) this.res.destroy();
  }
}

/** The clients of one ticket type's line in this process. */
interface Line {
  ticketTypeId: number;
  channel: string;
  clients: Set<LiveClient>;
  byToken: Map<string, Set<LiveClient>>;
  subscribed: Promise<unknown>;
  served: number;
  flushTimer?: NodeJS.Timeout;
  lastFlushAt: number;
}

export class LiveLines {
  private readonly lines = new Map<number, Line>();
  private readonly byChannel = new Map<string, Line>();
  private subscriber?: RedisClient;
  private heartbeatTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly ctx: Context,
    private readonly sale: Sale,
  ) {}

  /**
   * Registers a client for `token` and reads its status. The client listens before the read, so
   * no change between the two is missed. Undefined when no such token exists.
   */
  async watch(token: string): Promise<LiveClient | undefined> {
    if (this.closed) throw unavailable('The live stream');
    const line = this.line(tokenTicketType(token));
    const client = new LiveClient(this, token, line.ticketTypeId);
    line.clients.add(client);
    const same = line.byToken.get(token) ?? new Set();
    line.byToken.set(token, same.add(client));
    this.startHeartbeat();
    try {
      await line.subscribed;
      const standing = await this.sale.standing(token);
      if (!standing) {
        this.drop(client);
        return undefined;
      }
      if (standing.served !== undefined) this.observe(line, standing.served);
      client.seq = standing.seq;
      client.apply(standing.report);
      return client;
    } catch (err) {
      this.drop(client);
      throw err;
    }
  }

  /** Re-reads a client's status: for facts a broadcast does not carry (a booking id), or after missed ones. */
  async refresh(client: LiveClient): Promise<void> {
    if (client.closed) return;
    try {
      const standing = await this.sale.standing(client.token);
      const line = this.lines.get(client.ticketTypeId);
      if (line && standing?.served !== undefined) this.observe(line, standing.served);
      // A pre-queue entry gets its place in line at the draw: later positions follow from it.
      if (standing?.seq !== undefined) client.seq ??= standing.seq;
      if (standing) client.apply(standing.report);
    } catch (err) {
      this.ctx.log.warn({ err: (err as Error).message, ticketTypeId: client.ticketTypeId }, 'live status refresh failed');
    }
  }

  /** Forgets a client (it disconnected, or reached a terminal state); the last one of a line unsubscribes. */
  drop(client: LiveClient): void {
    client.end();
    const line = this.lines.get(client.ticketTypeId);
    if (!line?.clients.delete(client)) return;
    const same = line.byToken.get(client.token);
    same?.delete(client);
    if (!same?.size) line.byToken.delete(client.token);
    if (line.clients.size) return;
    clearTimeout(line.flushTimer);
    this.lines.delete(line.ticketTypeId);
    this.byChannel.delete(line.channel);
    this.subscriber?.sunsubscribe(line.channel).catch(() => undefined);
    if (!this.lines.size) {
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
    }
  }

  /** Ends every stream (the browser reconnects elsewhere) and the subscription. */
  close(): void {
    this.closed = true;
    for (const line of [...this.lines.values()]) for (const client of [...line.clients]) this.drop(client);
    this.subscriber?.disconnect();
  }

  private line(ticketTypeId: number): Line {
    const existing = this.lines.get(ticketTypeId);
    if (existing) return existing;
    const channel = this.ctx.keys.line(ticketTypeId).events;
    const line: Line = {
      ticketTypeId,
      channel,
      clients: new Set(),
      byToken: new Map(),
      subscribed: this.connect().ssubscribe(channel),
      served: 0,
      lastFlushAt: 0,
    };
    // A failed subscribe is reported to the watcher that awaits it; others must not crash the process.
    line.subscribed.catch(() => undefined);
    this.lines.set(ticketTypeId, line);
    this.byChannel.set(channel, line);
    return line;
  }

  private connect(): RedisClient {
    if (this.subscriber) return this.subscriber;
    // Fail-fast retries as for commands: a watcher gets 503 while Redis is down, not a hung request.
    // On a cluster: one subscriber per node, each line's channel on the node of its slot.
    const subscriber = createRedis(this.ctx.redisSettings, { subscriber: true });
    let connectedBefore = false;
    subscriber.on('error', (err: Error) => this.ctx.log.warn({ err: err.message }, 'live stream subscriber error'));
    const readBack = () => {
      // ioredis subscribes again by itself; what was published meanwhile is lost, so read it back.
      if (connectedBefore) for (const line of this.lines.values()) for (const c of line.clients) void this.refresh(c);
    };
    subscriber.on('ready', () => {
      readBack();
      connectedBefore = true;
    });
    // On a cluster: subscribed again on a line's new master after its slot moved or a failover.
    subscriber.on('subscribersReady', readBack);
    subscriber.on('smessage', (channel: string, message: string) => this.onMessage(channel, message));
    return (this.subscriber = subscriber);
  }

  private onMessage(channel: string, message: string): void {
    const line = this.byChannel.get(channel);
    if (!line) return;
    let broadcast: Broadcast;
    try {
      broadcast = JSON.parse(message) as Broadcast;
    } catch {
      this.ctx.log.warn({ channel }, 'unreadable line broadcast');
      return;
    }
    if (broadcast.served !== undefined) this.observe(line, broadcast.served);
    // Stock moved or a buyer left: `remaining` may differ, so the next flush reads it again.
    this.sale.figures.invalidate(line.ticketTypeId);
    for (const [token, status] of Object.entries(broadcast.changes ?? {})) {
      const clients = line.byToken.get(token);
      if (!clients) continue;
      for (const client of clients) this.change(client, status, broadcast);
    }
    this.scheduleFlush(line);
  }

  /** A broadcast says this client's token changed state; most views follow from it without a read. */
  private change(client: LiveClient, status: Status, broadcast: Broadcast): void {
    if (!client.report) return void this.refresh(client); // still connecting: its quantity is not known yet
    const base = { ticket_type_id: client.ticketTypeId, quantity: client.report.quantity };
    if (status === 'reserved' && broadcast.expires_at) client.apply({ status, ...base, expires_at: broadcast.expires_at });
    else if (status === 'expired' || status === 'cancelled' || status === 'sold_out') client.apply({ status, ...base });
    else void this.refresh(client);
  }

  private observe(line: Line, served: number): void {
    if (served <= line.served) return;
    line.served = served;
    this.sale.figures.observeServed(line.ticketTypeId, served);
  }

  /** One pass over the line's waiting clients, at most once a second, however many broadcasts came. */
  private scheduleFlush(line: Line): void {
    if (line.flushTimer) return;
    const wait = Math.max(0, line.lastFlushAt + POSITION_INTERVAL_MS - Date.now());
    line.flushTimer = setTimeout(() => void this.flush(line), wait);
  }

  private async flush(line: Line): Promise<void> {
    line.lastFlushAt = Date.now();
    line.flushTimer = undefined;
    const remaining = await this.sale.figures.remaining(line.ticketTypeId);
    if (this.lines.get(line.ticketTypeId) !== line) return;
    const now = Date.now();
    let deferred = false;
    for (const client of line.clients) {
      if (client.report?.status !== 'pending' || client.seq === undefined) continue;
      if (now - client.lastPositionAt < POSITION_INTERVAL_MS) {
        deferred = true;
        continue;
      }
      client.apply(this.sale.pendingReport(line.ticketTypeId, client.report.quantity, client.seq, line.served, remaining));
    }
    if (deferred) this.scheduleFlush(line);
  }

  private startHeartbeat(): void {
    this.heartbeatTimer ??= setInterval(() => {
      for (const line of this.lines.values()) for (const client of line.clients) client.heartbeat();
    }, HEARTBEAT_MS);
  }
}
