// The live stream's event rules (src/api/stream-events.ts): ids and which report replaces which.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventId, supersedes } from '../../src/api/stream-events.ts';
import type { StatusReport } from '../../src/domain/status.ts';

const pending = (position: number, remaining?: number): StatusReport =>
  ({ status: 'pending', ticket_type_id: 1, quantity: 1, position, ...(remaining === undefined ? {} : { remaining }) });
const reserved: StatusReport = { status: 'reserved', ticket_type_id: 1, quantity: 1, expires_at: '2030-01-01T00:00:00.000Z' };
const confirmed: StatusReport = { status: 'confirmed', ticket_type_id: 1, quantity: 1, booking_id: 42 };

test('stream-events.ids-change-exactly-when-the-buyer-learns-something', () => {
  assert.equal(eventId(pending(3, 10)), 'pending-3-10');
  assert.notEqual(eventId(pending(3, 10)), eventId(pending(3, 9)));
  assert.equal(eventId(reserved), `reserved-${Date.parse(reserved.expires_at!)}`);
  assert.equal(eventId(confirmed), 'confirmed-42');
  assert.equal(eventId({ status: 'sold_out', ticket_type_id: 1, quantity: 1 }), 'sold_out');
});

test('stream-events.state-moves-forward-and-position-only-falls', () => {
  assert.ok(supersedes(pending(5), undefined));
  assert.ok(supersedes(pending(4), pending(5)));
  assert.ok(supersedes(pending(5), pending(5)), 'the same position with new figures');
  assert.ok(!supersedes(pending(6), pending(5)), 'a late read with an older position');
  assert.ok(supersedes(reserved, pending(1)));
  assert.ok(!supersedes(pending(1), reserved), 'a late pending read after the hold');
  assert.ok(supersedes(confirmed, reserved));
  assert.ok(!supersedes(reserved, confirmed));
  assert.ok(!supersedes(reserved, reserved));
});
