// How a token's status report is built from what the stores say: pure functions, so that the
// rules (position from the sequence number, a hold past its end is expired) are tested without
// services.
import type { HoldView } from '../db/holds.ts';
import type { TokenRecord } from '../domain/record.ts';
import type { StatusReport } from '../domain/status.ts';

export interface PendingFacts {
  ticketTypeId: number;
  quantity: number;
  /** The token's sequence number in its line, and the line's served counter. */
  seq: number;
  served: number;
  /** Stock that may still come to the line, when known. */
  remaining?: number;
  /** Seconds until `position` is reached at the line's measured speed, when known. */
  estimatedWait?: (position: number) => number | undefined;
}

/** A waiting buyer's report: position = seq - served (O(1)), never below 1. */
export function pendingReport(facts: PendingFacts): StatusReport {
  const position = Math.max(1, facts.seq - facts.served);
  const report: StatusReport = { status: 'pending', ticket_type_id: facts.ticketTypeId, quantity: facts.quantity, position, ahead: position - 1 };
  if (facts.remaining !== undefined) report.remaining = facts.remaining;
  const wait = facts.estimatedWait?.(position);
  if (wait !== undefined) report.estimated_wait_seconds = wait;
  return report;
}

/**
 * What a token's record alone tells, when that is final or live: sold out, cancelled while in
 * line, or a hold that has not run out. Undefined when PostgreSQL must be asked (the hold ended,
 * or its end has passed) or the token is pending (see pendingReport).
 */
export function recordReport(ticketTypeId: number, record: TokenRecord, now = Date.now()): StatusReport | undefined {
  const base = { ticket_type_id: ticketTypeId, quantity: record.quantity };
  if (record.state === 'S') return { status: 'sold_out', ...base };
  if (record.state === 'C') return { status: 'cancelled', ...base };
  if (record.state === 'R' && record.holdEndsMs! > now) {
    return { status: 'reserved', ...base, expires_at: new Date(record.holdEndsMs!).toISOString() };
  }
  return undefined;
}

/** A hold row as the buyer sees it; a hold past its expiry is expired even before the sweep. */
export function holdReport(hold: HoldView, now = Date.now()): StatusReport {
  const overdue = hold.status === 'reserved' && hold.expires_at.getTime() <= now;
  const report: StatusReport = { status: overdue ? 'expired' : hold.status, ticket_type_id: hold.ticket_type_id, quantity: hold.quantity };
  if (report.status === 'reserved') report.expires_at = hold.expires_at.toISOString();
  if (hold.booking_id) report.booking_id = hold.booking_id;
  return report;
}
