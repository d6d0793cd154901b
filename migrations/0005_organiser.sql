-- The organiser's integration (issue 14): prices in a currency, confirmation by the organiser's
-- server after payment (API keys, idempotent confirms), and the webhook outbox.

-- One ISO 4217 currency per event; the events that existed before were priced in euros. The API
-- always names the currency (the request's, or DEFAULT_CURRENCY), so the column has no default.
ALTER TABLE events ADD COLUMN currency text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$');
ALTER TABLE events ALTER COLUMN currency DROP DEFAULT;

-- A price keeps the scale it was written with, which the API makes its currency's minor units
-- (5000 JPY, 49.00 EUR, 1.500 KWD): numeric(12, 2) could hold neither the first nor the last as such.
-- Existing prices keep their two decimals; no row is rewritten.
ALTER TABLE ticket_types ALTER COLUMN price TYPE numeric;

ALTER TABLE ticket_types
  -- organiser: only the organiser's server confirms (after payment, with an API key), and the
  -- buyer's page hands the buyer on to checkout_url with a signed pass.
  ADD COLUMN confirm_by text NOT NULL DEFAULT 'buyer' CHECK (confirm_by IN ('buyer', 'organiser')),
  ADD COLUMN checkout_url text,
  -- When the processor first told a buyer of this line sold_out (the line.sold_out event, once).
  ADD COLUMN line_sold_out_at timestamptz,
  ADD CONSTRAINT ticket_types_checkout_url CHECK (confirm_by = 'buyer' OR checkout_url IS NOT NULL);

-- Keys of the organiser's servers, one event each. Only a SHA-256 of the key is kept: the key has
-- 256 random bits, so a slow hash would add nothing; the prefix tells keys apart in a list.
CREATE TABLE api_keys (
  id         bigserial PRIMARY KEY,
  event_id   bigint NOT NULL REFERENCES events (id),
  name       text NOT NULL,
  key_hash   bytea NOT NULL UNIQUE,
  key_prefix text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX api_keys_event ON api_keys (event_id);

-- The first answer to each Idempotency-Key of an organiser's confirm, written in the transaction
-- of the confirm itself: a replay gets that answer, whatever happened since.
CREATE TABLE confirm_requests (
  api_key_id      bigint NOT NULL REFERENCES api_keys (id),
  idempotency_key text NOT NULL,
  -- SHA-256 of the token confirmed: the same key with another token is another request.
  request_hash    bytea NOT NULL,
  outcome         jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (api_key_id, idempotency_key)
);
CREATE INDEX confirm_requests_created ON confirm_requests (created_at);

CREATE TABLE webhook_endpoints (
  id          bigserial PRIMARY KEY,
  url         text NOT NULL,
  event_types text[] NOT NULL,
  -- whsec_<base64>: the HMAC key of the Standard Webhooks signature, so it is kept as it is.
  secret      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- The outbox: one row per event and subscribed endpoint, written by the statement (or transaction)
-- that makes the change it reports (src/db/outbox.ts); nobody subscribed, no row. message_id is the
-- event's id (webhook-id), the same for every endpoint and every attempt.
CREATE TABLE webhook_deliveries (
  id              bigserial PRIMARY KEY,
  message_id      text NOT NULL,
  endpoint_id     bigint NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event_type      text NOT NULL,
  payload         json NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- Set while a dispatcher delivers it: nobody else takes it before then (a dispatcher that died
  -- mid-delivery leaves it due again when this passes).
  sending_until   timestamptz,
  -- Retries go on until at least WEBHOOK_RETRY_WINDOW_SECONDS after this (created, or "retry now").
  retrying_since  timestamptz NOT NULL DEFAULT now(),
  last_attempt_at timestamptz,
  last_status     integer,
  last_error      text,
  delivered_at    timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE status = 'pending';

-- Payload times in UTC, ISO 8601 with milliseconds, whatever the session's TimeZone.
CREATE FUNCTION utc_iso(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
