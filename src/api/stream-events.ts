// The rules of the live stream's events, without I/O: what an event's id is, and which report may
// replace the one a client has.
import type { StatusReport } from '../domain/status.ts';

/** The SSE `id:` of a report: equal ids mean the client has nothing new to learn (Last-Event-ID). */
export function eventId(report: StatusReport): string {
  switch (report.status) {
    case 'pending':
      return `pending-${report.position}-${report.remaining ?? ''}`;
    case 'reserved':
      return `reserved-${Date.parse(report.expires_at!)}`;
    case 'confirmed':
      return `confirmed-${report.booking_id}`;
    default:
      return report.status;
  }
}

const RANKS: Partial<Record<StatusReport['status'], number>> = { prequeue: -1, pending: 0, reserved: 1 };
const rank = (report: StatusReport) => RANKS[report.status] ?? 2;

/**
 * Whether `next` may replace `current`. A token's state only moves forward and its position only
 * falls, so an update that arrives late (the connect-time read racing a broadcast) is dropped.
 */
export function supersedes(next: StatusReport, current: StatusReport | undefined): boolean {
  if (!current) return true;
  if (rank(next) !== rank(current)) return rank(next) > rank(current);
  return next.status === 'pending' && next.position! <= current.position!;
}
