// The Redis side of every line, as typed operations: one wrapper per Lua script (the only place
// that knows its KEYS order and the shape of its reply), plus the reads around them. The sale
// service, the engine and the tests use this class; nobody else calls a script. Outside this
// class a buyer is their full token; inside, the line keeps the token's secret, cut into a field
// and the record's rest, in the bucket the token names, and `field.bucket` in its lists
// (src/redis/keys.ts).
import { parseRecord, type Candidate, type TokenRecord } from '../domain/record.ts';
import type { LineProgress } from '../domain/figures.ts';
import type { EndedHoldStatus } from '../domain/status.ts';
import { LINE_BUCKETS, newToken, parseToken, tokenOf } from '../domain/token.ts';
import { execPipeline, type RedisClient, type Reply, type ScriptPipeline } from './client.ts';
import type { Keys, LineKeys } from './keys.ts';

/** The lease owner that parks a paused line: no processor has this id, and it never expires. */
const PAUSED_OWNER = 'paused';

export interface JoinRequest {
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
  /** token: the buyer's new token; seq: their number in the line; joinedAtMs: Redis's clock when they joined. */
  | { kind: 'joined'; token: string; position: number; seq: number; joinedAtMs: number }
  /** The buyer entered the pre-queue with a new token, the `entries`-th to do so. */
  | { kind: 'prequeued'; token: string; entries: number; joinedAtMs: number }
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
  /**
   * recovery: these buyers were left in `processing` by an earlier, unfinished batch. dropped:
   * buyers of the batch who cancelled in line (or whose record is gone), to be counted as served
   * by the settle.
   */
  | { kind: 'batch'; recovery: boolean; candidates: Candidate[]; dropped: number };

export interface BatchDecision {
  granted: Candidate[];
  soldOut: Candidate[];
  /** Back to the head of the line, in order: they wait for stock, or for the next batch. */
  waiting: Candidate[];
  expiresAt: Date;
  /** In a replay, each granted buyer's own hold end (AdmitOutcome.holdEnds), instead of expiresAt. */
  holdEnds?: Map<string, Date>;
  /** Buyers of the batch dropped as cancelled (TakeOutcome.dropped): they leave the line now. */
  dropped: number;
}

/** How many entries of `processing` a batch is: its candidates and those dropped. */
function batchEntries(batch: BatchDecision): number {
  return batch.granted.length + batch.soldOut.length + batch.waiting.length + batch.dropped;
}

/**
 * The keys and arguments that name buyers in a script of variable keys: each bucket once, then per
 * buyer its bucket's index and `arg` (by default the token).
 */
function bucketArgs(k: LineKeys, tokens: string[], arg: (token: string) => string = (token) => token): { keys: string[]; pairs: (string | number)[] } {
  const index = new Map<number, number>();
  const keys: string[] = [];
  const pairs: (string | number)[] = [];
  for (const token of tokens) {
    const { bucket } = parseToken(token);
    let i = index.get(bucket);
    if (i === undefined) {
      keys.push(k.bucket(bucket));
      index.set(bucket, (i = keys.length));
    }
    pairs.push(i, arg(token));
  }
  return { keys, pairs };
}

/**
 * The compact hash encoding the buckets are laid out for (Redis's defaults): a hash stays a
 * listpack up to this many fields, none longer than this many bytes. A bucket holds two fields
 * per buyer, so a line stays compact up to 64 x LINE_BUCKETS = 131,072 buyers; a record is at
 * most 40 bytes besides its user id, so user ids up to 24 bytes fit. A bucket past either limit
 * becomes a hashtable, for good: memory, not correctness (about 270 bytes per waiting buyer with
 * 44-byte user ids; with hash-max-listpack-value 256, 170). docs/deploy.md says what to set.
 */
export const COMPACT_HASH = { 'hash-max-listpack-entries': 128, 'hash-max-listpack-value': 64 } as const;

/** A record's field: the first characters of its token's secret (includes/record.lua). */
const FIELD_LENGTH = 8;

/** A join script's reply for `token` (whose bucket is the user's, as are their other tokens'). */
function joinOutcome(reply: Reply[], token: string): JoinOutcome {
  const { ticketTypeId, bucket } = parseToken(token);
  const theirs = (i: number) => tokenOf(ticketTypeId, bucket, String(reply[i]));
  switch (reply[0]) {
    case 'joined':
      return { kind: 'joined', token, position: Number(reply[1]), seq: Number(reply[2]), joinedAtMs: Number(reply[3]) };
    case 'prequeued':
      return { kind: 'prequeued', token, entries: Number(reply[1]), joinedAtMs: Number(reply[2]) };
    case 'entered':
      return { kind: 'entered', token: theirs(1), quantity: Number(reply[2]) };
    case 'waiting':
      return { kind: 'waiting', token: theirs(1), position: Number(reply[2]), quantity: Number(reply[3]) };
    case 'holding':
      return { kind: 'holding', token: theirs(1), holdEndsAt: new Date(Number(reply[2])).toISOString(), quantity: Number(reply[3]) };
    case 'returning':
      return { kind: 'returning', previousToken: reply[1] ? theirs(1) : '' };
    case 'late':
      return { kind: 'late' };
    default:
      throw new Error(`join script: unexpected reply ${JSON.stringify(reply)}`);
  }
}

/** A buyer named by a list entry (`field.bucket`): their full token, and record when the line has it. */
interface Entry {
  token: string;
  record?: TokenRecord;
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

  /**
   * Joins with a new token. Its secret's first 8 characters name its record in the bucket: should
   * another token of the bucket start alike (48 random bits), the join changes nothing and is made
   * again with another token.
   */
  async join(ticketTypeId: number, req: JoinRequest): Promise<JoinOutcome> {
    const k = this.keys.line(ticketTypeId);
    const deadline = Date.now() + this.timeoutMs - Math.min(250, this.timeoutMs / 4);
    for (;;) {
      const token = newToken(ticketTypeId, req.userId);
      const { secret, bucket } = parseToken(token);
      const args = [k.queue, k.seq, k.served, k.bucket(bucket), k.awake, k.purged, k.prequeue, k.draw,
        secret, req.userId, req.quantity, k.wake, ticketTypeId, req.replacing ? parseToken(req.replacing).secret : '',
        req.stopIfReturning ? '1' : '0', deadline, req.prequeueUntilMs ?? 0, bucket];
      const reply = this.waitReplicas ? await this.joinReplicated(args) : await this.redis.join(...args);
      if (reply[0] !== 'collision') return joinOutcome(reply, token);
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
    const [raw, served] = await this.redis.lineStatus(k.bucket(parseToken(token).bucket), k.served, token);
    return raw ? { record: parseRecord(raw), served: Number(served) } : undefined;
  }

  /** A pending buyer leaves the line; what the token was otherwise. */
  async cancelPending(ticketTypeId: number, token: string): Promise<CancelOutcome> {
    const k = this.keys.line(ticketTypeId);
    const reply = await this.redis.cancel(k.bucket(parseToken(token).bucket), k.served, token, k.events);
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
    const { keys, pairs } = bucketArgs(this.keys.line(ticketTypeId), tokens);
    const k = this.keys.line(ticketTypeId);
    await this.redis.endHolds(keys.length, ...keys, k.events, k.wake, ticketTypeId, status, ...pairs);
  }

  /**
   * Problems with the Redis server's hash encoding limits (COMPACT_HASH) on any master: limits
   * below the ones assumed, or a server that does not let CONFIG GET read them (managed Redis).
   */
  async encodingProblems(): Promise<string[]> {
    const masters = 'nodes' in this.redis ? this.redis.nodes('master') : [this.redis];
    const problems: string[] = [];
    for (const node of masters) {
      const where = `${node.options.host}:${node.options.port}`;
      try {
        const pairs = await node.call('CONFIG', 'GET', ...Object.keys(COMPACT_HASH)) as string[];
        const found = new Map(pairs.flatMap((name, i) => (i % 2 ? [] : [[name, Number(pairs[i + 1])]])));
        for (const [name, assumed] of Object.entries(COMPACT_HASH)) {
          const actual = found.get(name);
          if (!(actual! >= assumed)) problems.push(`${where}: ${name} is ${actual}, below the ${assumed} the line's buckets assume: a waiting buyer costs Redis about twice the memory`);
        }
      } catch (err) {
        problems.push(`${where}: cannot read ${Object.keys(COMPACT_HASH).join(' and ')} (${(err as Error).message}): the line's buckets assume at least ${Object.values(COMPACT_HASH).join(' and ')}`);
      }
    }
    return problems;
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

  /**
   * Takes the next batch. With `ahead`, the size of the caller's batch in flight, takes the batch
   * behind it (take-5.lua): never a recovery, and only 'batch' is worth acting on.
   */
  async take(ticketTypeId: number, owner: string, batchSize: number, leaseMs: number, ahead?: number): Promise<TakeOutcome> {
    const k = this.keys.line(ticketTypeId);
    const [kind, recovery, ...entries] = await this.redis.take(k.queue, k.processing, k.lease, k.awake, k.draw,
      owner, batchSize, leaseMs, ahead ?? '');
    if (kind === 'lost' || kind === 'empty' || kind === 'draw') return { kind };
    const candidates: Candidate[] = [];
    for (const { token, record } of await this.entries(ticketTypeId, entries)) {
      if (record?.state === 'P') candidates.push({ token, userId: record.userId, quantity: record.quantity });
    }
    return { kind: 'batch', recovery: Number(recovery) === 1, candidates, dropped: entries.length - candidates.length };
  }

  /**
   * The buyers of list entries, in their order, with their records (one command). An entry whose
   * record is gone keeps a token of its field alone, which no buyer has.
   */
  private async entries(ticketTypeId: number, entries: string[]): Promise<Entry[]> {
    if (!entries.length) return [];
    // Each entry as the token of its field alone, until its record gives the rest.
    const partial = entries.map((entry) => {
      const [field = '', bucket] = entry.split('.');
      return tokenOf(ticketTypeId, Number(bucket), field);
    });
    const { keys, pairs } = bucketArgs(this.keys.line(ticketTypeId), partial, (token) => parseToken(token).secret);
    const raw = await this.redis.readRecords(keys.length, ...keys, ...pairs);
    return partial.map((token, i) => {
      const record = raw[i] ? parseRecord(raw[i]!) : undefined;
      const { secret, bucket } = parseToken(token);
      return { token: tokenOf(ticketTypeId, bucket, secret + (record?.rest ?? '')), record };
    });
  }

  /** The records of these tokens (undefined for one the line does not know), one command per bucket, sent together. */
  async records(ticketTypeId: number, tokens: string[]): Promise<Map<string, TokenRecord | undefined>> {
    const found = await this.entries(ticketTypeId, tokens.map((token) => {
      const { secret, bucket } = parseToken(token);
      return `${secret.slice(0, FIELD_LENGTH)}.${bucket}`;
    }));
    return new Map(tokens.map((token, i) => [token, found[i]!.token === token ? found[i]!.record : undefined]));
  }

  /**
   * Records a committed batch in the line, fenced by `epoch`; publishes the changes. With
   * `requeueAhead`, the batch taken ahead behind it goes back in line too, behind its waiting buyers.
   */
  async settle(ticketTypeId: number, epoch: number, batch: BatchDecision, requeueAhead = false): Promise<SettleOutcome> {
    const k = this.keys.line(ticketTypeId);
    const { keys, pairs } = bucketArgs(k, [...batch.granted, ...batch.soldOut, ...batch.waiting].map((c) => c.token));
    // A replay gives each hold its own end: after its bucket index and token, each granted buyer's.
    const ends = batch.holdEnds;
    if (ends) batch.granted.forEach((c, i) => pairs.splice(3 * i + 2, 0, ends.get(c.token)!.getTime()));
    const [outcome, ...revoked] = await this.redis.settle(5 + keys.length, k.processing, k.queue, k.served, k.epoch, k.revoking, ...keys,
      k.events, ends ? '' : batch.expiresAt.toISOString(), ends ? '' : batch.expiresAt.getTime(), batch.granted.length, batch.soldOut.length,
      batch.dropped, epoch, batchEntries(batch), requeueAhead ? '1' : '0', ...pairs);
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
   * flight, then fails the owner check of its next take (take-5.lua) and stops. Buyers can still
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
   * its buckets a few hundred at a time, for a last check before the line's keys go.
   */
  async *departures(ticketTypeId: number): AsyncGenerator<{ outcome: 'sold_out' | 'cancelled'; buyers: Candidate[] }> {
    const k = this.keys.line(ticketTypeId);
    for (let from = 0; from < LINE_BUCKETS; from += 256) {
      const soldOut: Candidate[] = [];
      const cancelled: Candidate[] = [];
      const buckets = Array.from({ length: Math.min(256, LINE_BUCKETS - from) }, (_, i) => from + i);
      const pages = await Promise.all(buckets.map((n) => this.redis.hgetall(k.bucket(n))));
      pages.forEach((fields, i) => {
        for (const [field, raw] of Object.entries(fields)) {
          if (field.startsWith(':')) continue; // a user entry
          const { state, userId, quantity, rest } = parseRecord(raw);
          const buyer = { token: tokenOf(ticketTypeId, buckets[i]!, field + rest), userId, quantity };
          if (state === 'S') soldOut.push(buyer);
          if (state === 'C') cancelled.push(buyer);
        }
      });
      if (soldOut.length) yield { outcome: 'sold_out', buyers: soldOut };
      if (cancelled.length) yield { outcome: 'cancelled', buyers: cancelled };
    }
  }

  /** Whether the line has any key left (its counters, a pre-queue). */
  async exists(ticketTypeId: number): Promise<boolean> {
    const k = this.keys.line(ticketTypeId);
    return (await this.redis.exists(k.seq, k.prequeue, k.draw)) > 0;
  }

  /** Removes a finished line's keys; false while somebody is in line or being admitted. */
  async purge(ticketTypeId: number): Promise<boolean> {
    const k = this.keys.line(ticketTypeId);
    const buckets = Array.from({ length: LINE_BUCKETS }, (_, n) => k.bucket(n));
    const keys = [k.queue, k.processing, k.seq, k.served, k.awake, k.epoch, k.purged, k.revoking, k.draw, ...buckets];
    return (await this.redis.purge(keys.length, ...keys)) === 1;
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
    for (let from = 0; from < count; from += chunk) {
      const entries = await this.entries(ticketTypeId, await this.redis.lrange(key, from, Math.min(count, from + chunk) - 1));
      for (const { token } of entries) tokens.push(token);
    }
    return tokens;
  }

  /**
   * Puts `tokens` (draw ranks firstSeq, firstSeq + 1, ...) at the head of the line, if `placed`
   * entries are placed so far and `owner` holds the lease (place-n.lua).
   */
  async place(ticketTypeId: number, owner: string, leaseMs: number, placed: number, firstSeq: number, tokens: string[]): Promise<PlaceOutcome> {
    const k = this.keys.line(ticketTypeId);
    const { keys, pairs } = bucketArgs(k, tokens);
    const [kind, count] = await this.redis.place(4 + keys.length, k.queue, k.draw, k.lease, k.prequeue, ...keys,
      owner, leaseMs, placed, k.events, firstSeq, ...pairs);
    if (kind === 'placed' || kind === 'moved') return { kind, placed: Number(count) };
    return { kind: kind as 'done' | 'lost' };
  }

  /**
   * Each line's length, served counter and pause. The commands of all lines are sent together:
   * on one Redis they travel in one round trip (automatic pipelining); on a cluster they are in
   * flight at once on each node's connection (a pipeline across lines would span slots, which
   * Redis Cluster refuses).
   */
  async progress(ticketTypeIds: number[]): Promise<LineProgress[]> {
    return Promise.all(ticketTypeIds.map(async (id) => {
      const k = this.keys.line(id);
      const [waiting, served, lease] = await Promise.all([this.redis.llen(k.queue), this.redis.get(k.served), this.redis.get(k.lease)]);
      return { waiting, served: Number(served ?? 0), paused: lease === PAUSED_OWNER };
    }));
  }

  /**
   * Everything Redis has of one line, read in one MULTI (a processor may move a batch between
   * `queue` and `processing` at any time): for the tests' checks of the invariants and the soak.
   */
  async snapshot(ticketTypeId: number): Promise<{ records: Map<string, TokenRecord>; queue: string[]; processing: string[]; served: number }> {
    const k = this.keys.line(ticketTypeId);
    const multi = this.redis.multi().lrange(k.queue, 0, -1).lrange(k.processing, 0, -1).get(k.served);
    for (let n = 0; n < LINE_BUCKETS; n++) multi.hgetall(k.bucket(n));
    const [queue, processing, served, ...buckets] = await execPipeline(multi) as [string[], string[], string | null, ...Record<string, string>[]];
    const records = new Map<string, TokenRecord>();
    const tokenOfEntry = new Map<string, string>();
    buckets.forEach((fields, bucket) => {
      for (const [field, raw] of Object.entries(fields)) {
        if (field.startsWith(':')) continue; // a user entry
        const record = parseRecord(raw);
        const token = tokenOf(ticketTypeId, bucket, field + record.rest);
        records.set(token, record);
        tokenOfEntry.set(`${field}.${bucket}`, token);
      }
    });
    // An entry without a record keeps the entry itself, which matches no token.
    const tokens = (entries: string[]) => entries.map((e) => tokenOfEntry.get(e) ?? e);
    return { records, queue: tokens(queue), processing: tokens(processing), served: Number(served ?? 0) };
  }

  /** The token a user last had in this line, if Redis knows one. */
  async userToken(ticketTypeId: number, bucket: number, userId: string): Promise<string | undefined> {
    const key = this.keys.line(ticketTypeId).bucket(bucket);
    const field = await this.redis.hget(key, `:${userId}`);
    const raw = field ? await this.redis.hget(key, field) : null;
    return raw ? tokenOf(ticketTypeId, bucket, field + parseRecord(raw).rest) : undefined;
  }
}
