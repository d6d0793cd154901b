// Demo data: one event with three ticket types of very different sizes.
import type { Db } from './pool.ts';
import { normalizePrice } from '../domain/money.ts';
import { createEvent, createTicketType } from './catalog.ts';

/** `currency`: DEFAULT_CURRENCY. */
export async function seedDemo(db: Db, currency: string): Promise<number> {
  const startsAt = new Date(Date.now() + 30 * 86_400_000);
  startsAt.setUTCHours(19, 0, 0, 0);
  const event = await createEvent(db, {
    name: 'The Midnight Orchestra: Live',
    description: 'One night only. Doors open at 18:00.',
    venue: 'Harbour Hall',
    starts_at: startsAt.toISOString(),
    currency,
  });
  await createTicketType(db, event.id, { name: 'General admission', price: normalizePrice('49.00', currency)!, capacity: 1_000, max_per_order: 4 });
  await createTicketType(db, event.id, { name: 'Seated', price: normalizePrice('89.00', currency)!, capacity: 200, max_per_order: 4 });
  await createTicketType(db, event.id, { name: 'Backstage', price: normalizePrice('249.00', currency)!, capacity: 20, max_per_order: 2 });
  return event.id;
}

export async function hasEvents(db: Db): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM events LIMIT 1');
  return rowCount === 1;
}
