-- The system of record: events, ticket types with their stock, one row per hold, one per booking.

CREATE TABLE events (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  venue       text NOT NULL DEFAULT '',
  starts_at   timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ticket_types (
  id                 bigserial PRIMARY KEY,
  event_id           bigint NOT NULL REFERENCES events (id),
  name               text NOT NULL,
  price              numeric(12, 2) NOT NULL CHECK (price >= 0),
  capacity           integer NOT NULL CHECK (capacity >= 0),
  quantity_available integer NOT NULL,
  max_per_order      integer NOT NULL DEFAULT 4 CHECK (max_per_order >= 1),
  -- Fencing token of the processor that last admitted buyers (see src/engine/processor.ts).
  processor_epoch    bigint NOT NULL DEFAULT 0,
  created_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (quantity_available BETWEEN 0 AND capacity)
);
CREATE INDEX ticket_types_event_id ON ticket_types (event_id);

CREATE TABLE reservations (
  id             bigserial PRIMARY KEY,
  token          text NOT NULL UNIQUE,
  ticket_type_id bigint NOT NULL REFERENCES ticket_types (id),
  user_id        text NOT NULL,
  quantity       integer NOT NULL CHECK (quantity >= 1),
  status         text NOT NULL DEFAULT 'reserved'
                 CHECK (status IN ('reserved', 'confirmed', 'expired', 'cancelled')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  confirmed_at   timestamptz
);
CREATE INDEX reservations_due ON reservations (expires_at) WHERE status = 'reserved';
CREATE INDEX reservations_held ON reservations (ticket_type_id) WHERE status = 'reserved';

CREATE TABLE ticket_bookings (
  id             bigserial PRIMARY KEY,
  reservation_id bigint NOT NULL UNIQUE REFERENCES reservations (id),
  created_at     timestamptz NOT NULL DEFAULT now()
);
