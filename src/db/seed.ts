// Demo data: one event with three ticket types of very different sizes.
import type { Db } from './pool.ts';
import { createEvent, createTicketType } from './catalog.ts';

export async function seedDemo(db: Db): Promise<number> {
  const startsAt = new Date(Date.now() + 30 * 86_400_000);
  startsAt.setUTCHours(19, 0, 0, 0);
  const event = await createEvent(db, {
    name: 'The Midnight Orchestra: Live',
    description: 'One night only. Doors open at 18:00.',
    venue: 'Harbour Hall',
    starts_at: startsAt.toISOString(),
  });
  await createTicketType(db, event.id, { name: 'General admission', price: '49.00', capacity: 1_000, max_per_order: 4 });
  await createTicketType(db, event.id, { name: 'Seated', price: '89.00', capacity: 200, max_per_order: 4 });
  await createTicketType(db, event.id, { name: 'Backstage', price: '249.00', capacity: 20, max_per_order: 2 });
  return event.id;
}

export async function hasEvents(db: Db): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM events LIMIT 1');
  return rowCount === 1;
}
