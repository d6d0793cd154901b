// Every Redis key and channel name. Per ticket type keys and channels share the hash tag {<id>}, so
// each Lua script touches one slot and each line's channels are sharded channels of that slot: the
// layout works on Redis Cluster, where a line lives wholly on one shard.
//
// A line's buyers are spread over LINE_BUCKETS hashes (src/domain/token.ts) by their user id: each
// holds, per buyer, the record `field -> seq|quantity|state|rest|user_id` (field and rest: the
// token's secret cut after 8 characters) and the user entry `:user_id -> field` (a secret is
// base64url and has no ':'). Small hashes keep Redis's compact listpack encoding, where one large
// hash would pay about 100 bytes of hashtable per field.

import { LINE_BUCKETS } from '../domain/token.ts';

export interface LineKeys {
  queue: string;
  seq: string;
  served: string;
  /**
   * Bucket `n` of the line's records and user entries; every user who ever joined keeps their
   * entry, to their latest token, so that a returning buyer's tickets are counted in PostgreSQL
   * (per-user cap). The line's lists hold `field.bucket`.
   */
  bucket(n: number): string;
  /** Every key the line may have (its channels apart), its buckets included. */
  all(): string[];
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

/**
 * Lines whose key names are kept, built once: a join's profile spent 3-4% of its CPU building them
 * (a dozen strings and three closures a call). Past this many the cache starts afresh.
 */
const KEPT_LINES = 10_000;

export function createKeys(prefix: string): Keys {
  const kept = new Map<number, LineKeys>();
  return {
    line(id) {
      let keys = kept.get(id);
      if (!keys) {
        if (kept.size >= KEPT_LINES) kept.clear();
        keys = Object.freeze(lineKeys(prefix, id));
        kept.set(id, keys);
      }
      return keys;
    },
    rateLimit: `${prefix}rate-limit:`,
    spentChallenge: `${prefix}altcha:spent:`,
  };
}

function lineKeys(prefix: string, id: number): LineKeys {
  const base = `${prefix}queue:{${id}}`;
  const at = (name: string) => `${base}:${name}`;
  const bucket = (n: number) => at(`b:${n}`);
  const named = {
    queue: base, seq: at('seq'), served: at('served'), processing: at('processing'), revoking: at('revoking'),
    lease: at('lease'), epoch: at('epoch'), awake: at('awake'), purged: at('purged'), prequeue: at('prequeue'), draw: at('draw'),
  };
  return {
    ...named,
    bucket,
    all: () => [...Object.values(named), ...Array.from({ length: LINE_BUCKETS }, (_, n) => bucket(n))],
    events: at('events'),
    wake: at('wake'),
  };
}
