-- Scheduled on-sale (issue 13): a sale's times, its early close, the draw's committed secret and
-- result, and the bot challenge. A ticket type without times is on sale from its creation, as before.
ALTER TABLE ticket_types
  ADD COLUMN prequeue_opens_at timestamptz,
  ADD COLUMN sale_starts_at    timestamptz,
  ADD COLUMN sale_ends_at      timestamptz,
  -- Set once by the engine when the sale opens (sale_starts_at passed) and when it closes (its end
  -- passed, or the organiser closed it early): each transition is one statement (src/db/onsale.ts).
  ADD COLUMN opened_at         timestamptz,
  ADD COLUMN closed_at         timestamptz,
  -- The draw's secret S (32 random bytes), made when a pre-queue is scheduled; only its commitment
  -- hex(SHA-256(S)) is shown until the draw, when S is published (docs/fairness.md).
  ADD COLUMN draw_secret       bytea,
  ADD COLUMN draw_commitment   text,
  ADD COLUMN join_challenge    boolean NOT NULL DEFAULT false,
  -- The ALTCHA challenge's work: the largest counter a solver may have to reach.
  ADD COLUMN challenge_difficulty integer NOT NULL DEFAULT 50000 CHECK (challenge_difficulty BETWEEN 1000 and 10000000),
  ADD CONSTRAINT ticket_types_prequeue_needs_start CHECK (prequeue_opens_at IS NULL OR sale_starts_at IS NOT NULL),
  ADD CONSTRAINT ticket_types_prequeue_before_start CHECK (prequeue_opens_at < sale_starts_at),
  ADD CONSTRAINT ticket_types_start_before_end CHECK (sale_starts_at < sale_ends_at),
  ADD CONSTRAINT ticket_types_commitment_with_secret CHECK ((draw_secret IS NULL) = (draw_commitment IS NULL));

-- The result of a pre-queue's draw, written once (the first worker to compute it; a second computes
-- the same, since the draw is a function of the secret and the entries): what GET
-- /ticket-types/:id/draw publishes. `draw_order` is the entry ids in draw order, 16 bytes each.
CREATE TABLE draws (
  ticket_type_id bigint PRIMARY KEY REFERENCES ticket_types (id),
  entries        integer NOT NULL,
  entries_digest text NOT NULL,
  seed           text NOT NULL,
  draw_order     bytea NOT NULL,
  drawn_at       timestamptz NOT NULL DEFAULT now(),
  -- When every entry was in the line (the last placement chunk's run).
  placed_at      timestamptz
);

-- The engine's opening and closing loop looks for sales whose next transition is due.
CREATE INDEX ticket_types_opening ON ticket_types (sale_starts_at) WHERE opened_at IS NULL;
CREATE INDEX ticket_types_closing ON ticket_types (sale_ends_at) WHERE closed_at IS NULL;
