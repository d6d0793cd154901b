// What a checkout pass says of a hold: read by token, with its ticket type's rules and price.
import type { HoldStatus } from '../domain/status.ts';
import type { Queryable } from './pool.ts';

export interface CheckoutHold {
  hold_id: number;
  status: HoldStatus;
  expires_at: Date;
  event_id: number;
  ticket_type_id: number;
  user_id: string;
  quantity: number;
  unit_price: string;
  currency: string;
  confirm_by: 'buyer' | 'organiser';
  checkout_url: string | null;
}

export async function findCheckoutHold(q: Queryable, token: string): Promise<CheckoutHold | undefined> {
  const { rows } = await q.query<CheckoutHold>(
    `SELECT r.id AS hold_id, r.status, r.expires_at, t.event_id, r.ticket_type_id, r.user_id, r.quantity,
            t.price::text AS unit_price, e.currency, t.confirm_by, t.checkout_url
     FROM reservations r JOIN ticket_types t ON t.id = r.ticket_type_id JOIN events e ON e.id = t.event_id
     WHERE r.token = $1`,
    [token],
  );
  return rows[0];
}
