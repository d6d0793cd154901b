// Join validates the ticket type on every request; its rules never change once created, so they
// are read from PostgreSQL once per process. Concurrent requests for an id not read yet share one
// query (the first burst of a sale would otherwise send one query per join, and the pool's
// connection timeout was seen to fail 20,000 joins at once). Unknown ids are remembered briefly,
// so a flood of bad ids does not reach the database.
import type { Db } from '../db/pool.ts';
import type { TicketTypeRule } from '../domain/catalog.ts';
import { getTicketTypeRule } from '../db/catalog.ts';

const MISS_TTL_MS = 1_000;

export class TicketTypeCache {
  private readonly known = new Map<number, TicketTypeRule>();
  private readonly missing = new Map<number, number>();
  private readonly loading = new Map<number, Promise<TicketTypeRule | undefined>>();

  constructor(private readonly db: Db) {}

  async get(id: number): Promise<TicketTypeRule | undefined> {
    const hit = this.known.get(id);
    if (hit) return hit;
    if ((this.missing.get(id) ?? 0) > Date.now()) return undefined;
    let loading = this.loading.get(id);
    if (!loading) {
      loading = this.load(id).finally(() => this.loading.delete(id));
      this.loading.set(id, loading);
    }
    return loading;
  }

  private async load(id: number): Promise<TicketTypeRule | undefined> {
    const rule = await getTicketTypeRule(this.db, id);
    if (rule) this.known.set(id, rule);
    else {
      if (this.missing.size > 10_000) this.missing.clear();
      this.missing.set(id, Date.now() + MISS_TTL_MS);
    }
    return rule;
  }
}
