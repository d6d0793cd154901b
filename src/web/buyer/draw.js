// Recomputes a pre-queue's draw in the browser (docs/fairness.md) from GET /ticket-types/:id/draw,
// with the Web Crypto API: the commitment, the entries' digest, the seed and the order, then the
// place of the buyer's entry (?entry=). Nothing is taken on trust from the server but the data.
import { $, el, requestJson } from '/shared/page.js';

const params = new URLSearchParams(location.search);
const ticketTypeId = params.get('ticket_type_id');
const entry = params.get('entry');
const encoder = new TextEncoder();
const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
const bytes = (hexText) => Uint8Array.from(hexText.match(/../g) ?? [], (h) => parseInt(h, 16));
const sha256 = async (data) => hex(await crypto.subtle.digest('SHA-256', data));
const hmacKey = (raw) => crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
const hmac = async (key, text) => crypto.subtle.sign('HMAC', key, encoder.encode(text));

let mismatches = 0;
function check(what, ok, detail) {
  if (!ok) mismatches++;
  $('#checks').append(el('li', { className: ok ? 'ok' : 'mismatch', textContent: `${ok ? '✓' : '✗'} ${what}${ok ? '' : `: ${detail}`}` }));
}

async function verify() {
  if (!ticketTypeId) throw new Error('No ticket type named: open this page from your place in line.');
  const draw = await requestJson('GET', `/ticket-types/${encodeURIComponent(ticketTypeId)}/draw`);
  if (draw.state !== 'drawn') {
    $('#draw-status').textContent = `Not drawn yet: ${draw.entries} entries so far; the draw is at ${new Date(draw.sale_starts_at).toLocaleString()}. `
      + `Its commitment, published before the first entry: ${draw.commitment}`;
    return;
  }
  $('#draw-status').textContent = `Recomputing the draw of ${draw.order.length.toLocaleString()} entries…`;
  const secret = bytes(draw.secret);
  check('The secret matches the commitment published before the first entry', (await sha256(secret)) === draw.commitment,
    `SHA-256 of the secret is not ${draw.commitment}`);
  const digest = await sha256(encoder.encode([...draw.order].sort().join('\n')));
  check('The entries digest is that of the published entries', digest === draw.entries_digest, `recomputed ${digest}`);
  const seed = await hmac(await hmacKey(secret), draw.entries_digest);
  check('The seed comes from the secret and the entries', hex(seed) === draw.seed, `recomputed ${hex(seed)}`);
  const seedKey = await hmacKey(seed);
  const keyed = await Promise.all(draw.order.map(async (id) => ({ id, key: hex(await hmac(seedKey, id)) })));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const differs = keyed.findIndex((e, i) => e.id !== draw.order[i]);
  check('The published order is the draw', differs === -1, `place ${differs + 1} should be ${keyed[differs]?.id}`);
  $('#draw-status').textContent = mismatches ? 'The draw does NOT check out.' : `The draw checks out: ${draw.order.length.toLocaleString()} entries.`;
  if (entry) {
    const place = draw.order.indexOf(entry);
    $('#your-place').textContent = place >= 0 ? `Your entry ${entry} was drawn in place ${place + 1}.` : `Your entry ${entry} is not in the draw.`;
  }
}

verify().catch((err) => {
  $('#draw-status').textContent = `Could not check the draw: ${err.message}`;
});
