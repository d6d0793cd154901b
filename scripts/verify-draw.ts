// npm run verify-draw -- <base-url> <ticket-type-id> [--receipt <receipt>]
// Recomputes a pre-queue's draw from what the server publishes (GET /ticket-types/:id/draw), with
// code of its own: nothing here comes from the server's modules, so that a buyer who reads this
// file and docs/fairness.md need trust nothing else. With a receipt, checks its signature against
// the server's published key (/.well-known/jwks.json) and prints the buyer's place. Exit code 0:
// everything matches; 1: something does not (each mismatch is printed); 2: cannot check (usage,
// network, not drawn yet).
import { createHash, createHmac, createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { receipt: { type: 'string' } } });
const [baseUrl, ticketTypeId] = positionals;
if (!baseUrl || !ticketTypeId || !/^[1-9][0-9]*$/.test(ticketTypeId)) {
  console.error('usage: npm run verify-draw -- <base-url> <ticket-type-id> [--receipt <receipt>]');
  process.exit(2);
}

interface Drawn {
  state: 'drawn';
  commitment: string;
  secret: string;
  entries_digest: string;
  seed: string;
  order: string[];
}

async function getJson(path: string): Promise<unknown> {
  const res = await fetch(new URL(path, baseUrl));
  if (!res.ok) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer, message: string) => createHmac('sha256', key).update(message).digest('hex');

const problems: string[] = [];
function check(what: string, ok: boolean, detail: string): void {
  console.log(`${ok ? 'ok      ' : 'MISMATCH'} ${what}${ok ? '' : `: ${detail}`}`);
  if (!ok) problems.push(what);
}

let published: Drawn;
try {
  const draw = (await getJson(`/ticket-types/${ticketTypeId}/draw`)) as { state: string; commitment: string; entries?: number; sale_starts_at?: string };
  if (draw.state !== 'drawn') {
    console.log(`not drawn yet: ${draw.entries} entries so far, drawn at ${draw.sale_starts_at}; commitment ${draw.commitment}`);
    process.exit(2);
  }
  published = draw as Drawn;
} catch (err) {
  console.error(`cannot read the draw: ${(err as Error).message}`);
  process.exit(2);
}

const { commitment, secret, entries_digest: digest, seed, order } = published;
const secretBytes = Buffer.from(secret, 'hex');
check('commitment C = hex(SHA-256(S))', secretBytes.length === 32 && sha256(secretBytes) === commitment,
  `SHA-256 of the published secret is ${sha256(secretBytes)}, the commitment published before the draw is ${commitment}`);

const sorted = [...order].sort();
const duplicates = sorted.filter((id, i) => id === sorted[i - 1]);
check('every entry once', duplicates.length === 0, `${duplicates.length} entry ids appear twice, e.g. ${duplicates[0]}`);
const recomputedDigest = sha256(sorted.join('\n'));
check('entries digest D = hex(SHA-256(sorted entry ids joined by "\\n"))', recomputedDigest === digest,
  `the ${order.length} published entries give ${recomputedDigest}, the server says ${digest}`);

const recomputedSeed = createHmac('sha256', secretBytes).update(digest).digest();
check('seed = HMAC-SHA256(key = S, message = D)', recomputedSeed.toString('hex') === seed,
  `recomputed ${recomputedSeed.toString('hex')}, the server says ${seed}`);

const keyed = order.map((id) => ({ id, key: hmac(recomputedSeed, id) }));
keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
const firstDifference = keyed.findIndex((e, i) => e.id !== order[i]);
check('order = ascending hex(HMAC-SHA256(key = seed, message = entry_id))', firstDifference === -1,
  `place ${firstDifference + 1} should be ${keyed[firstDifference]?.id}, the server lists ${order[firstDifference]}`);

if (values.receipt) await checkReceipt(values.receipt);

if (problems.length) {
  console.log(`\nthe draw does NOT check out: ${problems.join('; ')}`);
  process.exit(1);
}
console.log(`\nthe draw checks out: ${order.length} entries`);

async function checkReceipt(receipt: string): Promise<void> {
  const [header, payload, signature] = receipt.split('.');
  if (!header || !payload || !signature) return check('receipt', false, 'not a compact JWS (three dot-separated parts)');
  const { alg, kid } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: string; kid?: string };
  const jwks = (await getJson('/.well-known/jwks.json')) as { keys: (JsonWebKey & { kid?: string })[] };
  const jwk = jwks.keys.find((k) => k.kid === kid);
  const signed = alg === 'EdDSA' && jwk !== undefined
    && verify(null, Buffer.from(`${header}.${payload}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signature, 'base64url'));
  check('receipt signature (EdDSA, /.well-known/jwks.json)', signed, `alg ${alg}, kid ${kid}: the signature does not verify against the published key`);
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as {
    ticket_type_id: number; entry_id: string; joined_at: string; kind: string; seq?: number; commitment?: string;
  };
  check('receipt is for this ticket type', String(claims.ticket_type_id) === ticketTypeId, `it names ticket type ${claims.ticket_type_id}`);
  if (claims.kind === 'line') {
    console.log(`\nthis buyer joined the line after the opening (${claims.joined_at}), number ${claims.seq}: behind every drawn entry`);
    return;
  }
  check('receipt names the committed draw', claims.commitment === commitment, `it carries commitment ${claims.commitment}, the draw ${commitment}`);
  const place = order.indexOf(claims.entry_id);
  check('the receipt\'s entry is in the draw', place >= 0, `entry ${claims.entry_id} (joined ${claims.joined_at}) is missing from the published entries`);
  if (place >= 0) console.log(`\nentry ${claims.entry_id} (joined the pre-queue ${claims.joined_at}): place ${place + 1} of ${order.length} in the draw`);
}
