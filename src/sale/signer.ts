// Ed25519 signatures (JWS, alg EdDSA) on what boxoffice hands out for others to check: receipts
// of joins and passes to an organiser's checkout. Every process signs with the same key: from
// RECEIPT_SIGNING_KEY (a PKCS#8 PEM) when set, otherwise one made once and kept in PostgreSQL.
// Anyone verifies against the public key served at /.well-known/jwks.json.
import { createHmac, createPrivateKey, sign as signBytes, type JsonWebKey } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, importPKCS8, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';
import { Type, type Static } from 'typebox';
import type { Db } from '../db/pool.ts';
import { storedSigningKey } from '../db/signing-keys.ts';

const ALG = 'EdDSA';

/** The public key as a JSON Web Key Set (RFC 7517). */
export const Jwks = Type.Object({
  keys: Type.Array(Type.Object({
    kty: Type.Literal('OKP'), crv: Type.Literal('Ed25519'), x: Type.String(), kid: Type.String(), alg: Type.Literal(ALG), use: Type.Literal('sig'),
  })),
});
export type Jwks = Static<typeof Jwks>;

export interface Signer {
  /** The key's id (its RFC 7638 thumbprint), in every signature's header. */
  readonly kid: string;
  /** A compact JWS of `claims` (a JWT); with `expiresInSeconds`, it carries `exp`. */
  sign(claims: JWTPayload, expiresInSeconds?: number): Promise<string>;
  /**
   * The same compact JWS as sign() without expiry, made with node:crypto on libuv's thread pool:
   * for every join's receipt, where jose's WebCrypto path cost 146 µs a signature against 42 µs
   * with node:crypto, and those 42 µs were a fifth of the join route's event loop time.
   */
  signNow(claims: JWTPayload): Promise<string>;
  /** The claims of a JWS this key signed; throws when the signature, or its expiry, fails. */
  verify(jws: string): Promise<JWTPayload>;
  readonly jwks: Jwks;
  /**
   * A secret of its own for `purpose`, derived from the private key (HMAC-SHA256(d, purpose)):
   * every process derives the same one, and nothing else has to be shared or stored.
   */
  deriveSecret(purpose: string): Buffer;
}

export async function loadSigner(db: Db, configuredPem: string): Promise<Signer> {
  const privateJwk = configuredPem ? await exportJWK(await importPKCS8(configuredPem.replaceAll('\\n', '\n'), ALG, { extractable: true }))
    : await storedSigningKey(db, async () => {
      const { privateKey } = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true });
      const jwk = await exportJWK(privateKey);
      return { kid: await calculateJwkThumbprint(jwk), jwk };
    });
  const { d: _private, ...publicJwk } = privateJwk;
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateKey = await importJWK(privateJwk, ALG);
  const publicKey = await importJWK(publicJwk, ALG);
  const keyObject = createPrivateKey({ key: privateJwk as JsonWebKey, format: 'jwk' });
  const header = Buffer.from(JSON.stringify({ alg: ALG, kid })).toString('base64url');
  return {
    kid,
    jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: publicJwk.x!, kid, alg: ALG, use: 'sig' }] },
    async sign(claims, expiresInSeconds) {
      const jwt = new SignJWT(claims).setProtectedHeader({ alg: ALG, kid });
      if (expiresInSeconds !== undefined) jwt.setExpirationTime(`${expiresInSeconds}s`);
      return jwt.sign(privateKey);
    },
    signNow(claims) {
      const signingInput = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
      return new Promise((resolve, reject) => {
        signBytes(null, Buffer.from(signingInput), keyObject, (err, signature) => {
          if (err) reject(err);
          else resolve(`${signingInput}.${signature.toString('base64url')}`);
        });
      });
    },
    async verify(jws) {
      return (await jwtVerify(jws, publicKey, { algorithms: [ALG] })).payload;
    },
    deriveSecret(purpose) {
      return createHmac('sha256', Buffer.from(privateJwk.d!, 'base64url')).update(purpose).digest();
    },
  };
}
