-- What only a line knew until now, kept in the system of record so that a finished sale's Redis
-- keys can go: buyers who left a line without a hold (told sold_out, or cancelled while waiting).
-- Every token ever issued has a row here or in reservations once it left its line.
CREATE TABLE line_exits (
  token          text PRIMARY KEY,
  ticket_type_id bigint NOT NULL REFERENCES ticket_types (id),
  user_id        text NOT NULL,
  quantity       integer NOT NULL CHECK (quantity >= 1),
  outcome        text NOT NULL CHECK (outcome IN ('sold_out', 'cancelled')),
  created_at     timestamptz NOT NULL DEFAULT now()
);

-- When the sale was first seen over (sold out with no live hold, or its event started): its line's
-- Redis keys go LINE_RETENTION_SECONDS later (src/engine/retention.ts).
ALTER TABLE ticket_types ADD COLUMN sale_over_at timestamptz;

-- The per-user cap counts a returning buyer's holds and bookings of one ticket type.
CREATE INDEX reservations_user ON reservations (ticket_type_id, user_id);
