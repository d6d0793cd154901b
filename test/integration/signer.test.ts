// The signing key: one per deployment, whichever process made it, or the configured one; what it
// signs verifies against /.well-known/jwks.json with any JOSE library.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { loadSigner } from '../../src/sale/signer.ts';
import { createHarness, type Harness } from '../helpers/harness.ts';

let h: Harness;
before(async () => (h = await createHarness()));
after(() => h.close());

test('signer.every-process-signs-with-the-one-stored-key', async () => {
  const [a, b] = await Promise.all([loadSigner(h.peer().db, ''), loadSigner(h.peer().db, '')]);
  assert.equal(a.kid, b.kid);
  assert.equal(a.kid, h.sale.signer.kid);
  const jws = await a.sign({ ticket_type_id: 1, entry_id: 'e1' });
  assert.deepEqual(await b.verify(jws), { ticket_type_id: 1, entry_id: 'e1' });
  const { rows } = await h.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM signing_keys');
  assert.equal(rows[0]!.n, 1);
});

test('signer.jwks-verifies-what-the-server-signed', async () => {
  const app = await h.app();
  const res = await app.inject('/.well-known/jwks.json');
  assert.equal(res.statusCode, 200);
  const jwks = res.json();
  assert.deepEqual(Object.keys(jwks.keys[0]).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
  const jws = await h.sale.signer.sign({ kind: 'line', seq: 7 });
  const { payload, protectedHeader } = await jwtVerify(jws, createLocalJWKSet(jwks));
  assert.equal(protectedHeader.alg, 'EdDSA');
  assert.equal(payload.seq, 7);
  const tampered = `${jws.slice(0, -4)}AAAA`;
  await assert.rejects(jwtVerify(tampered, createLocalJWKSet(jwks)));
});

test('signer.sign-now-makes-the-same-jws-jose-verifies', async () => {
  const jwks = createLocalJWKSet((await (await h.app()).inject('/.well-known/jwks.json')).json());
  const claims = { ticket_type_id: 3, entry_id: '0'.repeat(32), kind: 'prequeue', commitment: 'c' };
  const fast = await h.sale.signer.signNow(claims);
  const { payload, protectedHeader } = await jwtVerify(fast, jwks);
  assert.deepEqual(payload, claims);
  assert.deepEqual(protectedHeader, { alg: 'EdDSA', kid: h.sale.signer.kid });
  assert.deepEqual(await h.sale.signer.verify(fast), claims);
  await assert.rejects(jwtVerify(`${fast.slice(0, -4)}AAAA`, jwks));
});

test('signer.a-pass-past-its-expiry-fails', async () => {
  const jws = await h.sale.signer.sign({ token: 'x' }, -1);
  await assert.rejects(h.sale.signer.verify(jws), /exp/);
});

test('signer.a-configured-key-wins-over-the-stored-one', async () => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const configured = await loadSigner(h.ctx.db, pem.replaceAll('\n', '\\n'));
  assert.notEqual(configured.kid, h.sale.signer.kid);
  assert.deepEqual(await configured.verify(await configured.sign({ a: 1 })), { a: 1 });
  await assert.rejects(h.sale.signer.verify(await configured.sign({ a: 1 })));
});
