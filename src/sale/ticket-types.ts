// Join checks the ticket type on every request, so its rules are kept in process: a known rule is
// served from memory and re-read in the background once it is a few seconds old (what changes
// after creation reaches every process within that); an unknown id is
// remembered for a second, so a flood of bad ids does not reach the database. Concurrent requests
// for an id not read yet share one query: the first burst of a sale would otherwise send one
// query per join (20,000 joins at once were seen to time out waiting for a pool connection).
import type { Db } from '../db/pool.ts';
import type { TicketTypeRule } from '../domain/catalog.ts';
import { getTicketTypeRule } from '../db/catalog.ts';

const KNOWN_TTL_MS = 5_000;
const MISS_TTL_MS = 1_000;
const MAX_MISSES = 10_000;

interface Entry {
  rule?: TicketTypeRule;
  readAt: number;
  loading?: Promise<TicketTypeRule | undefined>;
}

export class TicketTypeCache {
  private readonly entries = new Map<number, Entry>();

  constructor(private readonly db: Db) {}

  async get(id: number): Promise<TicketTypeRule | undefined> {
    const entry = this.entries.get(id);
    const age = entry ? Date.now() - entry.readAt : Infinity;
    if (entry?.rule) {
      if (age >= KNOWN_TTL_MS) this.load(id, entry).catch(() => undefined); // the old rule serves meanwhile
      return entry.rule;
    }
    if (entry && age < MISS_TTL_MS) return undefined;
    return this.load(id, entry ?? this.add(id));
  }

  /** Reads the rule afresh on its next use (this process changed it). */
  forget(id: number): void {
    this.entries.delete(id);
  }

  private add(id: number): Entry {
    if (this.entries.size > MAX_MISSES) for (const [key, e] of this.entries) if (!e.rule) this.entries.delete(key);
    const entry: Entry = { readAt: 0 };
    this.entries.set(id, entry);
    return entry;
  }

  private load(id: number, entry: Entry): Promise<TicketTypeRule | undefined> {
    entry.loading ??= getTicketTypeRule(this.db, id)
      .then((rule) => {
        entry.rule = rule;
        entry.readAt = Date.now();
        return rule;
      })
      .finally(() => (entry.loading = undefined));
    return entry.loading;
  }
}
