// The Redis side of every line, as typed operations: one wrapper per Lua script (the only place
// that knows its KEYS order and the shape of its reply), plus the reads around them. The sale
// service, the engine and the tests use this class; nobody else calls a script.
import { parseRecord, type Candidate, type TokenRecord } from '../domain/record.ts';
import type { LineProgress } from '../domain/figures.ts';
import type { EndedHoldStatus } from '../domain/status.ts';
import { execPipeline, type RedisClient, type Reply, type ScriptPipeline } from './client.ts';
import type { Keys } from './keys.ts';

/** The lease owner that parks a paused line: no processor has this id, and it never expires. */
const PAUSED_OWNER = 'paused';

export interface JoinRequest {
  token: string;
  userId: string;
  quantity: number;
  /** The user's previous token, whose hold has ended: replaced only while it is still the user's token. */
  replacing?: string;
  /**
   * Do not join a user who joined this line before and has no live token, or any user new to a
   * purged line: the outcome 'returning' tells the caller to count their tickets in PostgreSQL
   * first (the per-user cap), then join again replacing that token.
   */
  stopIfReturning?: boolean;
  /** The opening (epoch ms) of a sale with a pre-queue: before it, on Redis's clock, the buyer enters the pre-queue. */
  prequeueUntilMs?: number;
}

export type JoinOutcome =
  /** seq: the buyer's number in the line; joinedAtMs: Redis's clock when they joined. */
  | { kind: 'joined'; position: number; seq: number; joinedAtMs: number }
  /** The buyer entered the pre-queue, the `entries`-th to do so. */
  | { kind: 'prequeued'; entries: number; joinedAtMs: number }
  /** The user already waits in the pre-queue with this token. */
  | { kind: 'entered'; token: string; quantity: number }
  /** Redis ran the join after the caller's deadline (it was hung): nothing changed. */
  | { kind: 'late' }
  | { kind: 'waiting'; token: string; position: number; quantity: number }
  | { kind: 'holding'; token: string; holdEndsAt: string; quantity: number }
  /** previousToken: '' when the line was purged and Redis no longer knows the user's past. */
  | { kind: 'returning'; previousToken: string };

export type TakeOutcome =
  | { kind: 'lost' }
  /** The pre-queue is sealed and must be placed in the line (place()) before anybody is admitted. */
  | { kind: 'draw' }
  | { kind: 'empty' }
  /** recovery: these buyers were left in `processing` by an earlier, unfinished batch. */
  | { kind: 'batch'; recovery: boolean; candidates: Candidate[] };

export interface BatchDecision {
  granted: Candidate[];
  soldOut: Candidate[];
  /** Back to the head of the line, in order: they wait for stock, or for the next batch. */
  waiting: Candidate[];
  expiresAt: Date;
}

export type SettleOutcome =
  /** revoked: granted tokens whose buyer cancelled meanwhile; their holds must be released. */
  | { kind: 'settled'; revoked: string[] }
  /** A newer lease holder exists; it replays this batch from PostgreSQL. */
  | { kind: 'fenced' };

export type CancelOutcome =
  /** who: the buyer who left, to be recorded in PostgreSQL. */
  | { kind: 'cancelled' | 'already_cancelled'; who: Candidate }
  | { kind: 'sold_out' | 'left_line' | 'unknown' };

export type PlaceOutcome =
  | { kind: 'placed' | 'moved'; placed: number }
  | { kind: 'done' | 'lost' };

/** A pre-queue's draw as Redis has it: not sealed yet, sealed (entries wait to be placed), placed. */
export interface DrawProgress {
  state?: 'sealed' | 'placed';
  entries: number;
  placed: number;
}

export class LineStore {
  /** Joins acknowledged with fewer replicas than REDIS_JOIN_WAIT_REPLICAS asks (exported as a metric). */
  unreplicatedJoins = 0;

  /**
   * @param timeoutMs the client's command timeout (REDIS_TIMEOUT_MS): a join carries a deadline a
   * little before it, after which Redis refuses to run it. A sent command cannot be taken back,
   * and a join that a hung Redis ran after its buyer was told 503 would leave them in line without
   * their token (a repeat join gets already_joined).
   */
  constructor(
    readonly redis: RedisClient,
    readonly keys: Keys,
    private readonly timeoutMs: number,
    /**
     * REDIS_JOIN_WAIT_REPLICAS: a join is answered once this many replicas have it (WAIT, on the
     * connection that wrote it), so that a failover right after cannot lose it.
     */
    private readonly waitReplicas = 0,
  ) {}

  async join(ticketTypeId: number, req: JoinRequest): Promise<JoinOutcome> {
    const k = this.keys.line(ticketTypeId);
    const args = [k.queue, k.seq, k.served, k.users, k.tokens, k.awake, k.purged, k.prequeue, k.draw,
      req.token, req.userId, req.quantity, k.wake, ticketTypeId, req.replacing ?? '', req.stopIfReturning ? '1' : '0',
      Date.now() + this.timeoutMs - Math.min(250, this.timeoutMs / 4), req.prequeueUntilMs ?? 0];
    const reply = this.waitReplicas ? await this.joinReplicated(args) : await this.redis.join(...args);
    switch (reply[0]) {
      case 'joined':
        return { kind: 'joined', position: Number(reply[1]), seq: Number(reply[2]), joinedAtMs: Number(reply[3]) };
      case 'prequeued':
        return { kind: 'prequeued', entries: Number(reply[1]), joinedAtMs: Number(reply[2]) };
      case 'entered':
        return { kind: 'entered', token: String(reply[1]), quantity: Number(reply[2]) };
      case 'waiting':
        return { kind: 'waiting', token: String(reply[1]), position: Number(reply[2]), quantity: Number(reply[3]) };
      case 'holding':
        return { kind: 'holding', token: String(reply[1]), holdEndsAt: new Date(Number(reply[2])).toISOString(), quantity: Number(reply[3]) };
      case 'returning':
        return { kind: 'returning', previousToken: String(reply[1]) };
      case 'late':
        return { kind: 'late' };
      default:
        throw new Error(`join script: unexpected reply ${JSON.stringify(reply)}`);
    }
  }

  /**
   * The join and a WAIT in one pipeline: a pipeline goes to the node of its keys, so the WAIT
   * waits for the replicas of the very connection and node that wrote the join. Fewer replicas
   * than asked within half the timeout: the join stands (refusing it now would lose its token to
   * the buyer, whose next join gets already_joined) and unreplicatedJoins counts it.
   */
  private async joinReplicated(args: (string | number)[]): Promise<Reply[]> {
    const pipeline = this.redis.pipeline() as ScriptPipeline;
    const [joined, replicas] = await execPipeline(pipeline.join(...args).wait(this.waitReplicas, Math.ceil(this.timeoutMs / 2))) as [Reply[], number];
    if (joined[0] === 'joined' && replicas < this.waitReplicas) this.unreplicatedJoins++;
    return joined;
  }

  /** A token's record and its line's served counter, read together (position = seq - served). */
  async readRecord(ticketTypeId: number, token: string): Promise<{ record: TokenRecord; served: number } | undefined> {
    const k = this.keys.line(ticketTypeId);
    const [raw, served] = await this.redis.lineStatus(k.tokens, k.served, token);
    return raw ? { record: parseRecord(raw), served: Number(served) } : undefined;
  }

  /** A pending buyer leaves the line; what the token was otherwise. */
  async cancelPending(ticketTypeId: number, token: string): Promise<CancelOutcome> {
    const k = this.keys.line(ticketTypeId);
    const reply = await this.redis.cancel(k.tokens, k.served, token, k.events);
    if (!reply) return { kind: 'unknown' };
    const [before, quantity, userId] = reply;
    const who = { token, userId, quantity: Number(quantity) };
    switch (before as TokenRecord['state']) {
      case 'P':
      case 'Q':
        return { kind: 'cancelled', who };
      case 'C':
        return { kind: 'already_cancelled', who };
      case 'S':
        return { kind: 'sold_out' };
      default:
        return { kind: 'left_line' };
    }
  }

  /** After holds ended in PostgreSQL: marks their records ended, tells watchers, wakes the processor. */
  async endHolds(ticketTypeId: number, status: EndedHoldStatus, tokens: string[]): Promise<void> {
    if (!tokens.length) return;
    const k = this.keys.line(ticketTypeId);
    await this.redis.endHolds(k.tokens, k.events, k.wake, ticketTypeId, status, ...tokens);
  }

  /** Takes or renews the processor lease: the fencing epoch, or undefined while another owner holds it. */
  async lease(ticketTypeId: number, owner: string, ms: number): Promise<number | undefined> {
    const k = this.keys.line(ticketTypeId);
    return (await this.redis.lease(k.lease, k.epoch, owner, ms)) || undefined;
  }

  /** Milliseconds until the lease runs out unrenewed; not positive when there is no lease or it never expires (paused). */
  leaseRemainingMs(ticketTypeId: number): Promise<number> {
    return this.redis.pttl(this.keys.line(ticketTypeId).lease);
  }

  async unlease(ticketTypeId: number, owner: string): Promise<boolean> {
    return (await this.redis.unlease(this.keys.line(ticketTypeId).lease, owner)) === 1;
  }

  /** Moves the epoch past `atLeast` for the lease holder; undefined when `owner` no longer holds the lease. */
  async reepoch(ticketTypeId: number, owner: string, atLeast: number): Promise<number | undefined> {
    const k = this.keys.line(ticketTypeId);
    return (await this.redis.reepoch(k.lease, k.epoch, owner, atLeast)) || undefined;
  }

  async take(ticketTypeId: number, owner: string, batchSize: number, leaseMs: number): Promise<TakeOutcome> {
    const k = this.keys.line(ticketTypeId);
    const reply = await this.redis.take(k.queue, k.processing, k.tokens, k.served, k.lease, k.awake, k.draw, owner, batchSize, leaseMs);
    if (reply[0] === 'lost' || reply[0] === 'empty' || reply[0] === 'draw') return { kind: reply[0] };
    const candidates: Candidate[] = [];
    for (let i = 2; i < reply.length; i += 2) {
      const { userId, quantity } = parseRecord(reply[i + 1]!);
      candidates.push({ token: reply[i]!, userId, quantity });
    }
    return { kind: 'batch', recovery: Number(reply[1]) === 1, candidates };
  }

  /** Records a committed batch in the line, fenced by `epoch`; publishes the changes. */
  async settle(ticketTypeId: number, epoch: number, batch: BatchDecision): Promise<SettleOutcome> {
    const k = this.keys.line(ticketTypeId);
    const endsMs = batch.expiresAt.getTime();
    const tokens = [...batch.granted, ...batch.soldOut, ...batch.waiting].map((c) => c.token);
    const [outcome, ...revoked] = await this.redis.settle(k.tokens, k.processing, k.queue, k.served, k.epoch, k.revoking,
      k.events, batch.expiresAt.toISOString(), endsMs, batch.granted.length, batch.soldOut.length, epoch, ...tokens);
    return outcome === 'fenced' ? { kind: 'fenced' } : { kind: 'settled', revoked };
  }

  /** Wakes the processors of a line (stock was added or withdrawn). */
  async wake(ticketTypeId: number): Promise<void> {
    await this.redis.spublish(this.keys.line(ticketTypeId).wake, String(ticketTypeId));
  }

  /**
   * Which of these lines are on the work list: their `awake` flag is set from the join that found
   * the line idle until a take finds it empty. One command per line, sent together (one round
   * trip per Redis node).
   */
  async awakeLines(ticketTypeIds: number[]): Promise<number[]> {
    const awake = await Promise.all(ticketTypeIds.map((id) => this.redis.exists(this.keys.line(id).awake)));
    return ticketTypeIds.filter((_, i) => awake[i] === 1);
  }

  /**
   * Pausing parks the processor lease with an owner no process has and no expiry: no processor
   * can take the lease (lease-2.lua), and one that holds it at that moment finishes its batch in
   * flight, then fails the owner check of its next take (take-7.lua) and stops. Buyers can still
   * join; they wait in line.
   */
  async pause(ticketTypeId: number): Promise<void> {
    await this.redis.set(this.keys.line(ticketTypeId).lease, PAUSED_OWNER);
  }

  /** Lifts a pause and wakes the processors. */
  async resume(ticketTypeId: number): Promise<void> {
    const k = this.keys.line(ticketTypeId);
    await this.redis.resume(k.lease, PAUSED_OWNER, k.wake, ticketTypeId);
  }

  /**
   * The buyers who left a line without a hold (sold out, or cancelled while waiting), read from
   * its records a page at a time (HSCAN), for a last check before the line's keys go.
   */
  async *departures(ticketTypeId: number): AsyncGenerator<{ outcome: 'sold_out' | 'cancelled'; buyers: Candidate[] }> {
    const { tokens } = this.keys.line(ticketTypeId);
    let cursor = '0';
    do {
      const [next, page] = await this.redis.hscan(tokens, cursor, 'COUNT', 1_000);
      cursor = next;
      const soldOut: Candidate[] = [];
      const cancelled: Candidate[] = [];
      for (let i = 0; i < page.length; i += 2) {
        const { state, userId, quantity } = parseRecord(page[i + 1]!);
        if (state === 'S') soldOut.push({ token: page[i]!, userId, quantity });
        if (state === 'C') cancelled.push({ token: page[i]!, userId, quantity });
      }
      if (soldOut.length) yield { outcome: 'sold_out', buyers: soldOut };
      if (cancelled.length) yield { outcome: 'cancelled', buyers: cancelled };
    } while (cursor !== '0');
  }

  /** Whether the line has any key left (a record, its counters). */
  async exists(ticketTypeId: number): Promise<boolean> {
    const k = this.keys.line(ticketTypeId);
    return (await this.redis.exists(k.tokens, k.seq)) > 0;
  }

  /** Removes a finished line's keys; false while somebody is in line or being admitted. */
  async purge(ticketTypeId: number): Promise<boolean> {
    const k = this.keys.line(ticketTypeId);
    return (await this.redis.purge(k.queue, k.processing, k.seq, k.served, k.users, k.tokens, k.awake, k.epoch, k.purged, k.revoking, k.draw)) === 1;
  }

  /** Holds a settle marked for revocation that no processor has finished revoking (it died). */
  revocations(ticketTypeId: number): Promise<string[]> {
    return this.redis.smembers(this.keys.line(ticketTypeId).revoking);
  }

  /** These holds are revoked in PostgreSQL: nothing is left to do for them. */
  async revoked(ticketTypeId: number, tokens: string[]): Promise<void> {
    await this.redis.srem(this.keys.line(ticketTypeId).revoking, ...tokens);
  }

  /**
   * Seals the pre-queue at the opening (idempotent; a join after the opening seals it too) and,
   * when entries wait to be placed, puts the line on the work list and wakes its processors, in
   * the same script, so that a processor places them even if this process dies.
   */
  async seal(ticketTypeId: number): Promise<{ entries: number; waiting: boolean }> {
    const k = this.keys.line(ticketTypeId);
    const [entries, waiting] = await this.redis.seal(k.draw, k.prequeue, k.seq, k.awake, k.wake, ticketTypeId);
    return { entries, waiting: waiting === 1 };
  }

  async drawProgress(ticketTypeId: number): Promise<DrawProgress> {
    const { state, entries, placed } = await this.redis.hgetall(this.keys.line(ticketTypeId).draw);
    return { state: state as DrawProgress['state'], entries: Number(entries ?? 0), placed: Number(placed ?? 0) };
  }

  /** How many buyers are in the pre-queue (before its draw). */
  prequeueLength(ticketTypeId: number): Promise<number> {
    return this.redis.llen(this.keys.line(ticketTypeId).prequeue);
  }

  /** The first `count` pre-queue tokens, read `chunk` at a time so that no read blocks Redis long. */
  async prequeueTokens(ticketTypeId: number, count: number, chunk: number): Promise<string[]> {
    const key = this.keys.line(ticketTypeId).prequeue;
    const tokens: string[] = [];
    for (let from = 0; from < count; from += chunk) tokens.push(...(await this.redis.lrange(key, from, Math.min(count, from + chunk) - 1)));
    return tokens;
  }

  /**
   * Puts `tokens` (draw ranks firstSeq, firstSeq + 1, ...) at the head of the line, if `placed`
   * entries are placed so far and `owner` holds the lease (place-5.lua).
   */
  async place(ticketTypeId: number, owner: string, leaseMs: number, placed: number, firstSeq: number, tokens: string[]): Promise<PlaceOutcome> {
    const k = this.keys.line(ticketTypeId);
    const [kind, count] = await this.redis.place(k.tokens, k.queue, k.draw, k.lease, k.prequeue, owner, leaseMs, placed, k.events, firstSeq, ...tokens);
    if (kind === 'placed' || kind === 'moved') return { kind, placed: Number(count) };
    return { kind: kind as 'done' | 'lost' };
  }

  /**
   * Each line's length, served counter and pause. The commands of all lines are sent together,
   * so that they travel in one round trip per Redis node (automatic pipelining groups them by
   * node; a pipeline across lines would span slots, which Redis Cluster refuses).
   */
  async progress(ticketTypeIds: number[]): Promise<LineProgress[]> {
    return Promise.all(ticketTypeIds.map(async (id) => {
      const k = this.keys.line(id);
      const [waiting, served, lease] = await Promise.all([this.redis.llen(k.queue), this.redis.get(k.served), this.redis.get(k.lease)]);
      return { waiting, served: Number(served ?? 0), paused: lease === PAUSED_OWNER };
    }));
  }
}
