// The signing key kept in PostgreSQL, for deployments that do not configure one.
import type { JWK } from 'jose';
import type { Db } from './pool.ts';

const LOCK_KEY = 7_262_003; // one key is made, however many processes start at once: "boxoffice signing key"

/** The stored private key, made by `create` and stored first when there is none. */
export async function storedSigningKey(db: Db, create: () => Promise<{ kid: string; jwk: JWK }>): Promise<JWK> {
  return db.withTransaction(async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    const { rows } = await client.query<{ private_jwk: JWK }>('SELECT private_jwk FROM signing_keys ORDER BY created_at DESC LIMIT 1');
    if (rows[0]) return rows[0].private_jwk;
    const { kid, jwk } = await create();
    await client.query('INSERT INTO signing_keys (kid, private_jwk) VALUES ($1, $2)', [kid, jwk]);
    return jwk;
  });
}
