// Every Redis key and channel name. Per ticket type keys and channels share the hash tag {<id>}, so
// each Lua script touches one slot and each line's channels are sharded channels of that slot: the
// layout works on Redis Cluster, where a line lives wholly on one shard.

export interface LineKeys {
  queue: string;
  seq: string;
  served: string;
  /** Every user who ever joined this line, to their latest token: a returning buyer's tickets are counted in PostgreSQL (per-user cap). */
  users: string;
  /** Every token's record, `seq|quantity|state|user_id` (src/domain/record.ts). */
  tokens: string;
  processing: string;
  /** Granted holds whose buyer had cancelled in line: revoked by a processor, which then removes them. */
  revoking: string;
  lease: string;
  epoch: string;
  /**
   * Set while the line has buyers a processor has not found it empty of: the line's own place on
   * the work list, written by the join script itself. Its wake goes out once, when it is set.
   */
  awake: string;
  /** Set when the line's keys went after its sale: later joins check the per-user cap in PostgreSQL. */
  purged: string;
  /** Sharded channel: every change of a token of this ticket type, and the served counter (live streams). */
  events: string;
  /** Sharded channel: the processors of this line should look at it (a join to an idle line, stock back, resume). */
  wake: string;
  /** The pre-queue's tokens in join order, until the draw has placed them in the line. */
  prequeue: string;
  /** The pre-queue's draw: state (sealed, placed), entries, placed (src/redis/scripts/includes/seal.lua). */
  draw: string;
}

export interface Keys {
  line(ticketTypeId: number): LineKeys;
  /** Prefix of the rate limit counters (src/api/security.ts). */
  rateLimit: string;
  /** Prefix of the spent ALTCHA challenges (src/redis/challenges.ts), one key per challenge until it expires. */
  spentChallenge: string;
}

export function createKeys(prefix: string): Keys {
  return {
    line(id) {
      const base = `${prefix}queue:{${id}}`;
      return {
        queue: base,
        seq: `${base}:seq`,
        served: `${base}:served`,
        users: `${base}:users`,
        tokens: `${base}:tokens`,
        processing: `${base}:processing`,
        revoking: `${base}:revoking`,
        lease: `${base}:lease`,
        epoch: `${base}:epoch`,
        awake: `${base}:awake`,
        purged: `${base}:purged`,
        events: `${base}:events`,
        wake: `${base}:wake`,
        prequeue: `${base}:prequeue`,
        draw: `${base}:draw`,
      };
    },
    rateLimit: `${prefix}rate-limit:`,
    spentChallenge: `${prefix}altcha:spent:`,
  };
}
