// The dashboard's scheduled sales (issue 13): every sale's state, times, pre-queue and draw from
// GET /admin/sales, polled while the dashboard shows, and the form that changes a sale (PATCH
// /admin/ticket-types/:id: schedule, capacity, challenge, early close). Uses the admin token that
// admin.js keeps.
import { $, el, requestJson } from '/shared/page.js';

const TOKEN_KEY = 'boxoffice.adminToken';
const POLL_MS = 2_000;
const DRAW = { none: '–', open: 'taking entries', sealed: 'drawing…', placed: 'drawn' };

const api = (method, path, body) =>
  requestJson(method, path, body, { headers: { authorization: `Bearer ${localStorage.getItem(TOKEN_KEY)}` } });
const shown = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' }) : '–');

function row(t) {
  const draw = el('td');
  draw.append(DRAW[t.draw]);
  if (t.draw !== 'none') {
    draw.append(' · ', el('a', { href: `/draw.html?ticket_type_id=${t.id}`, target: '_blank', textContent: t.draw === 'placed' ? 'check' : 'commitment' }));
  }
  const tr = el('tr', {},
    el('td', {}, el('strong', { textContent: t.name }), el('span', { className: 'sub', textContent: `${t.event_name} · #${t.id}` })),
    el('td', {}, el('span', { className: `state ${t.state}`, textContent: t.state.replace('_', ' ') })),
    el('td', { textContent: shown(t.prequeue_opens_at) }),
    el('td', { textContent: shown(t.sale_starts_at) }),
    el('td', { textContent: shown(t.sale_ends_at) }),
    el('td', { className: 'num prequeue-size', textContent: t.prequeue_entries === null ? '–' : t.prequeue_entries.toLocaleString() }),
    draw,
    el('td', { textContent: t.join_challenge ? 'on' : 'off' }),
  );
  tr.dataset.ticketTypeId = String(t.id);
  return tr;
}

let timer;

async function poll() {
  clearTimeout(timer);
  if ($('#dashboard').hidden || !localStorage.getItem(TOKEN_KEY)) {
    timer = setTimeout(poll, POLL_MS);
    return;
  }
  try {
    const sales = await api('GET', '/admin/sales');
    $('#onsale tbody').replaceChildren(...sales.map(row));
    const select = $('#lifecycle-form select[name=ticket_type_id]');
    const chosen = select.value;
    select.replaceChildren(...sales.map((t) => el('option', { value: String(t.id), textContent: `${t.name} (#${t.id}, ${t.event_name})` })));
    if (chosen) select.value = chosen;
  } catch {
    // admin.js reports the dashboard's errors (and forgets a refused token).
  }
  timer = setTimeout(poll, POLL_MS);
}

function changeOf(form) {
  const change = {};
  for (const [key, value] of new FormData(form)) {
    if (value === '' || key === 'ticket_type_id') continue;
    if (key.endsWith('_at')) change[key] = new Date(value).toISOString();
    else if (key === 'join_challenge') change[key] = value === 'true';
    else change[key] = Number(value);
  }
  return change;
}

async function send(change) {
  const form = $('#lifecycle-form');
  const result = form.querySelector('.result');
  const id = form.querySelector('select[name=ticket_type_id]').value;
  result.className = 'result';
  result.textContent = 'Saving…';
  try {
    const changed = await api('PATCH', `/admin/ticket-types/${id}`, change);
    result.textContent = `Saved: #${changed.id} is ${changed.state.replace('_', ' ')}.`;
    form.reset();
    form.querySelector('select[name=ticket_type_id]').value = id;
    await poll();
  } catch (err) {
    result.className = 'result error';
    result.textContent = err.message;
  }
}

$('#lifecycle-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void send(changeOf(e.target));
});
$('#close-sale').addEventListener('click', () => void send({ close: true }));

void poll();
