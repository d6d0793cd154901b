// How status reports are built from the stores' facts (src/sale/status.ts), without services.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { holdReport, pendingReport, recordReport } from '../../src/sale/status.ts';
import type { HoldView } from '../../src/db/holds.ts';

test('status.pending-position-is-seq-minus-served-and-never-below-one', () => {
  assert.deepEqual(pendingReport({ ticketTypeId: 4, quantity: 2, seq: 10, served: 3 }),
    { status: 'pending', ticket_type_id: 4, quantity: 2, position: 7, ahead: 6 });
  // The served counter can pass a token's seq for an instant (a batch settling around it).
  assert.equal(pendingReport({ ticketTypeId: 4, quantity: 1, seq: 3, served: 5 }).position, 1);
});

test('status.pending-carries-remaining-and-wait-only-when-known', () => {
  const report = pendingReport({ ticketTypeId: 1, quantity: 1, seq: 5, served: 0, remaining: 12, estimatedWait: (p) => p * 2 });
  assert.equal(report.remaining, 12);
  assert.equal(report.estimated_wait_seconds, 10);
  assert.ok(!('estimated_wait_seconds' in pendingReport({ ticketTypeId: 1, quantity: 1, seq: 5, served: 0, estimatedWait: () => undefined })));
});

test('status.record-answers-final-states-and-live-holds-only', () => {
  const now = 1_000_000;
  const base = { seq: 1, quantity: 2, rest: 'abcdefghijklmn', userId: 'u' };
  assert.equal(recordReport(1, { ...base, state: 'S' }, now)?.status, 'sold_out');
  assert.equal(recordReport(1, { ...base, state: 'C' }, now)?.status, 'cancelled');
  assert.deepEqual(recordReport(1, { ...base, state: 'R', holdEndsMs: now + 1 }, now),
    { status: 'reserved', ticket_type_id: 1, quantity: 2, expires_at: new Date(now + 1).toISOString() });
  // A hold at or past its end, an ended hold and a pending token are PostgreSQL's or the line's to say.
  assert.equal(recordReport(1, { ...base, state: 'R', holdEndsMs: now }, now), undefined);
  assert.equal(recordReport(1, { ...base, state: 'E' }, now), undefined);
  assert.equal(recordReport(1, { ...base, state: 'P' }, now), undefined);
});

test('status.hold-past-its-end-is-expired-before-the-sweep', () => {
  const hold: HoldView = {
    id: 1, ticket_type_id: 2, quantity: 1, status: 'reserved', expires_at: new Date(5_000), confirmed_at: null, booking_id: null,
  };
  assert.deepEqual(holdReport(hold, 4_999), { status: 'reserved', ticket_type_id: 2, quantity: 1, expires_at: new Date(5_000).toISOString() });
  assert.deepEqual(holdReport(hold, 5_000), { status: 'expired', ticket_type_id: 2, quantity: 1 });
  assert.deepEqual(holdReport({ ...hold, status: 'confirmed', booking_id: 9 }, 9_999),
    { status: 'confirmed', ticket_type_id: 2, quantity: 1, booking_id: 9 });
});
