// Every Redis key and channel name. Per ticket type keys share the hash tag {<id>}, so each Lua
// script touches one slot and the layout works on Redis Cluster.

export interface LineKeys {
  queue: string;
  seq: string;
  served: string;
  /** Every user who ever joined this line, to their latest token: a returning buyer's tickets are counted in PostgreSQL (per-user cap). */
  users: string;
  /** Every token's record, `seq|quantity|state|user_id` (src/domain/states.ts). */
  tokens: string;
  processing: string;
  lease: string;
  epoch: string;
  awake: string;
  /** Set when the line's keys went after its sale: later joins check the per-user cap in PostgreSQL. */
  purged: string;
  /** Pub/sub channel: every change of a token of this ticket type, and the served counter. */
  events: string;
  /** The pre-queue's tokens in join order, until the draw has placed them in the line. */
  prequeue: string;
  /** The pre-queue's draw: state (sealed, placed), entries, placed (src/redis/scripts/includes/seal.lua). */
  draw: string;
}

export interface Keys {
  line(ticketTypeId: number): LineKeys;
  /** Ticket types whose line may be non-empty: the processor's work list. */
  active: string;
  /** Prefix of the rate limit counters (src/api/security.ts). */
  rateLimit: string;
  /** Pub/sub: a ticket type id whose processor should run now. */
  wakeChannel: string;
  /** Pub/sub: the epoch milliseconds at which the newest holds expire (wakes the sweeper). */
  holdsChannel: string;
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
        lease: `${base}:lease`,
        epoch: `${base}:epoch`,
        awake: `${base}:awake`,
        purged: `${base}:purged`,
        events: `${base}:events`,
        prequeue: `${base}:prequeue`,
        draw: `${base}:draw`,
      };
    },
    active: `${prefix}queue:active`,
    rateLimit: `${prefix}rate-limit:`,
    wakeChannel: `${prefix}wake`,
    holdsChannel: `${prefix}holds`,
    spentChallenge: `${prefix}altcha:spent:`,
  };
}
