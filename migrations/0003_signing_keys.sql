-- The Ed25519 key that signs receipts and passes when RECEIPT_SIGNING_KEY gives none: made once,
-- by whichever process starts first, and shared by all (src/sale/signer.ts).
CREATE TABLE signing_keys (
  kid         text PRIMARY KEY,
  private_jwk jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
