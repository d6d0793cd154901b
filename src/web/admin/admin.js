// The organiser's dashboard: polls GET /admin/stats every second and draws one row per ticket
// type; below, the webhook endpoints, their delivery log (with "retry now"), API keys and the
// bookings exports. The admin token is asked once and kept in localStorage; a 401 or 403 forgets it.
import { $, el, formatPrice, requestJson } from '/shared/page.js';

const TOKEN_KEY = 'boxoffice.adminToken';
const POLL_MS = 1000;
// The admission rate is averaged over this long, so that batch bursts read as a steady figure.
const RATE_WINDOW_MS = 10_000;

const WEBHOOK_EVENTS = ['hold.granted', 'hold.expired', 'hold.cancelled', 'booking.confirmed', 'line.sold_out', 'sale.opened', 'sale.closed'];
// The delivery log shows this many of the newest deliveries.
const DELIVERIES_SHOWN = 50;

const rows = new Map();
const samples = new Map();
const eventNames = new Map();
/** Ticket type id to its price as people read it. */
const prices = new Map();
let eventsLoading;
let token = localStorage.getItem(TOKEN_KEY);
let pollTimer;

function api(method, path, body) {
  return requestJson(method, path, body, { headers: { authorization: `Bearer ${token}` } });
}

function showLogin(message = '') {
  clearTimeout(pollTimer);
  $('#dashboard').hidden = true;
  $('#forget').hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = message;
  $('#status').textContent = '';
  $('#token').focus();
}

function forgetToken(message) {
  token = null;
  localStorage.removeItem(TOKEN_KEY);
  showLogin(message);
}

async function openDashboard() {
  $('#login').hidden = true;
  $('#dashboard').hidden = false;
  $('#forget').hidden = false;
  await loadEvents();
  // A token that stopped working is forgotten by poll(), which says why.
  await Promise.all([loadWebhooks(), loadApiKeys()]).catch(() => undefined);
  await poll();
}

function loadEvents() {
  eventsLoading ??= fetchEvents().catch(() => undefined).finally(() => (eventsLoading = undefined));
  return eventsLoading;
}

async function fetchEvents() {
  const res = await fetch('/events');
  if (!res.ok) return;
  const events = await res.json();
  for (const select of document.querySelectorAll('select[name=event_id]')) {
    const chosen = select.value;
    select.replaceChildren(...events.map((e) => el('option', { value: String(e.id), textContent: `${e.name} (#${e.id})` })));
    if (chosen) select.value = chosen;
  }
  eventNames.clear();
  for (const e of events) {
    eventNames.set(e.id, e.name);
    for (const t of e.ticket_types) prices.set(t.id, formatPrice(t.price, t.currency));
  }
  $('#exports').replaceChildren(...events.map((e) => {
    const button = el('button', { type: 'button', textContent: 'Download CSV' });
    button.addEventListener('click', () => downloadBookings(e, button));
    return el('li', {}, `${e.name} (#${e.id}, ${e.currency}) `, button);
  }));
}

/** The event's bookings as a file: fetched with the admin token, which a plain link could not send. */
async function downloadBookings(event, button) {
  button.disabled = true;
  try {
    const res = await fetch(`/admin/events/${event.id}/bookings.csv`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`The server answered ${res.status}.`);
    const link = el('a', { href: URL.createObjectURL(await res.blob()), download: `event-${event.id}-bookings.csv` });
    link.click();
    URL.revokeObjectURL(link.href);
  } catch (err) {
    $('#status').textContent = `Could not export the bookings: ${err.message}`;
  } finally {
    button.disabled = false;
  }
}

// ---- webhooks, their deliveries, API keys

const when = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '–');

async function loadWebhooks() {
  const endpoints = await api('GET', '/admin/webhooks');
  $('#webhooks tbody').replaceChildren(...endpoints.map((w) => {
    const remove = el('button', { type: 'button', textContent: 'Remove' });
    remove.addEventListener('click', async () => {
      remove.disabled = true;
      await api('DELETE', `/admin/webhooks/${w.id}`).catch((err) => ($('#status').textContent = err.message));
      await loadWebhooks();
    });
    return el('tr', {}, el('td', { className: 'wrap', textContent: w.url }), el('td', { textContent: w.events.join(', ') }), el('td', {}, remove));
  }));
}

async function loadDeliveries() {
  const { deliveries } = await api('GET', `/admin/webhook-deliveries?limit=${DELIVERIES_SHOWN}`);
  $('#no-deliveries').hidden = deliveries.length > 0;
  $('#deliveries tbody').replaceChildren(...deliveries.map((d) => {
    const retry = el('button', { type: 'button', textContent: 'Retry now', disabled: d.in_flight });
    retry.addEventListener('click', async () => {
      retry.disabled = true;
      await api('POST', `/admin/webhook-deliveries/${d.id}/retry`).catch((err) => ($('#status').textContent = `Could not retry: ${err.message}`));
      await loadDeliveries();
    });
    const answer = d.last_error ?? (d.last_status ? `HTTP ${d.last_status}` : '–');
    const row = el('tr', {},
      el('td', {}, el('strong', { textContent: d.event_type }), el('span', { className: 'sub', textContent: `${d.message_id} · ${when(d.created_at)}` })),
      el('td', { className: 'wrap', textContent: d.url }),
      el('td', { className: `status-${d.status}`, textContent: d.in_flight ? 'sending' : d.status }),
      el('td', { className: 'num', textContent: String(d.attempts) }),
      el('td', { className: 'wrap', textContent: answer }),
      el('td', { textContent: d.status === 'pending' ? when(d.next_attempt_at) : '–' }),
      el('td', {}, retry));
    row.dataset.deliveryId = String(d.id);
    return row;
  }));
}

async function loadApiKeys() {
  const keys = await api('GET', '/admin/api-keys');
  $('#api-keys tbody').replaceChildren(...keys.map((k) => {
    const revoke = el('button', { type: 'button', textContent: k.revoked_at ? 'Revoked' : 'Revoke', disabled: Boolean(k.revoked_at) });
    revoke.addEventListener('click', async () => {
      revoke.disabled = true;
      await api('DELETE', `/admin/api-keys/${k.id}`).catch((err) => ($('#status').textContent = err.message));
      await loadApiKeys();
    });
    return el('tr', {},
      el('td', { textContent: k.name }),
      el('td', { textContent: eventNames.get(k.event_id) ?? `event #${k.event_id}` }),
      el('td', {}, el('code', { textContent: `${k.key_prefix}…` })),
      el('td', { textContent: new Date(k.created_at).toLocaleString() }),
      el('td', {}, revoke));
  }));
}

/** Buyers admitted per second over the last RATE_WINDOW_MS, or undefined until two samples span a second. */
function admissionRate(id, admitted, now) {
  const list = samples.get(id) ?? [];
  samples.set(id, list);
  list.push({ at: now, admitted });
  while (list.length > 2 && list[1].at <= now - RATE_WINDOW_MS) list.shift();
  const base = list[0];
  const span = now - base.at;
  return span >= 1000 ? ((admitted - base.admitted) * 1000) / span : undefined;
}

/** The cells of the ticket type's row, made on first sight. */
function cellsFor(t) {
  const known = rows.get(t.id);
  if (known) return known;
  const cells = {
    name: el('strong'),
    event: el('span', { className: 'sub' }),
    badge: el('span', { className: 'paused-badge', textContent: 'paused', hidden: true }),
    waiting: el('td', { className: 'num waiting' }),
    confirmed: el('span', { className: 'confirmed' }),
    held: el('span', { className: 'held' }),
    available: el('span', { className: 'available' }),
    stock: el('span', { className: 'sub stock-text' }),
    rate: el('td', { className: 'num rate' }),
    expiring: el('td', { className: 'num expiring' }),
    toggle: el('button', { type: 'button', className: 'toggle' }),
  };
  const bar = el('div', { className: 'bar', role: 'img' }, cells.confirmed, cells.held, cells.available);
  cells.bar = bar;
  cells.toggle.addEventListener('click', () => togglePause(t.id, cells.toggle));
  const row = el('tr', {},
    el('td', {}, cells.name, cells.badge, cells.event),
    cells.waiting,
    el('td', {}, bar, cells.stock),
    cells.rate,
    cells.expiring,
    el('td', {}, cells.toggle),
  );
  row.dataset.ticketTypeId = String(t.id);
  cells.row = row;
  rows.set(t.id, cells);
  $('#sales tbody').append(row);
  return cells;
}

function render(stats) {
  const now = Date.now();
  $('#empty').hidden = stats.ticket_types.length > 0;
  // Someone else created an event: learn its name for the next frame.
  if (stats.ticket_types.some((t) => !eventNames.has(t.event_id))) loadEvents();
  $('#expiring-head').textContent = `Holds ending < ${stats.expiring_within_seconds} s`;
  for (const t of stats.ticket_types) {
    const c = cellsFor(t);
    const pct = (n) => (t.capacity ? `${(100 * n) / t.capacity}%` : '0%');
    c.row.dataset.paused = String(t.paused);
    c.name.textContent = t.name;
    c.event.textContent = [eventNames.get(t.event_id) ?? `event #${t.event_id}`, `#${t.id}`, prices.get(t.id)].filter(Boolean).join(' · ');
    c.badge.hidden = !t.paused;
    c.waiting.textContent = t.waiting.toLocaleString();
    c.confirmed.style.width = pct(t.confirmed);
    c.held.style.width = pct(t.held);
    c.available.style.width = pct(t.quantity_available);
    c.bar.setAttribute('aria-label', `${t.confirmed} confirmed, ${t.held} held, ${t.quantity_available} available of ${t.capacity}`);
    c.stock.textContent = `${t.confirmed} confirmed · ${t.held} held · ${t.quantity_available} available of ${t.capacity}`;
    const rate = admissionRate(t.id, t.admitted, now);
    c.rate.textContent = rate === undefined ? '–' : rate.toFixed(1);
    const next = t.next_expiry ? Math.max(0, Math.round((Date.parse(t.next_expiry) - now) / 1000)) : undefined;
    c.expiring.textContent = next === undefined ? String(t.expiring_soon) : `${t.expiring_soon} (next in ${next} s)`;
    c.toggle.textContent = t.paused ? 'Resume admission' : 'Pause admission';
    c.toggle.className = `toggle ${t.paused ? 'resume' : 'pause'}`;
  }
  $('#updated').textContent = `updated ${new Date(now).toLocaleTimeString()}`;
}

async function poll() {
  clearTimeout(pollTimer);
  try {
    render(await api('GET', '/admin/stats'));
    await loadDeliveries();
    $('#status').textContent = 'live';
  } catch (err) {
    if (err.status === 401 || err.status === 403) return forgetToken(err.message);
    $('#status').textContent = `Cannot read the figures: ${err.message}`;
  }
  pollTimer = setTimeout(poll, POLL_MS);
}

async function togglePause(id, button) {
  const action = button.classList.contains('resume') ? 'resume' : 'pause';
  button.disabled = true;
  try {
    await api('POST', `/admin/ticket-types/${id}/${action}`);
    await poll();
  } catch (err) {
    $('#status').textContent = `Could not ${action}: ${err.message}`;
  } finally {
    button.disabled = false;
  }
}

function formValues(form) {
  return Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ''));
}

async function submitForm(form, send) {
  const result = form.querySelector('.result');
  result.className = 'result';
  result.textContent = 'Saving…';
  try {
    result.textContent = await send(formValues(form));
    form.reset();
  } catch (err) {
    result.className = 'result error';
    result.textContent = err.message;
  }
}

$('#login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  token = $('#token').value.trim();
  try {
    await api('GET', '/admin/stats');
  } catch (err) {
    token = null;
    $('#login-error').textContent = err.message;
    return;
  }
  localStorage.setItem(TOKEN_KEY, token);
  $('#token').value = '';
  await openDashboard();
});

$('#forget').addEventListener('click', () => forgetToken());

$('#event-form').addEventListener('submit', (e) => {
  e.preventDefault();
  submitForm(e.target, async (v) => {
    const created = await api('POST', '/admin/events', { ...v, starts_at: new Date(v.starts_at).toISOString() });
    await loadEvents();
    $('#ticket-type-form select[name=event_id]').value = String(created.id);
    return `Created event #${created.id}.`;
  });
});

$('#ticket-type-form').addEventListener('submit', (e) => {
  e.preventDefault();
  submitForm(e.target, async ({ event_id: eventId, capacity, max_per_order: maxPerOrder, ...v }) => {
    const body = { ...v, capacity: Number(capacity), max_per_order: Number(maxPerOrder) };
    // The schedule's fields are local times in the form; the API takes instants.
    for (const key of ['prequeue_opens_at', 'sale_starts_at', 'sale_ends_at']) if (body[key]) body[key] = new Date(body[key]).toISOString();
    const created = await api('POST', `/admin/events/${eventId}/ticket-types`, body);
    await loadEvents();
    await poll();
    return `Created ticket type #${created.id}.`;
  });
});

$('#webhook-events').append(...WEBHOOK_EVENTS.map((type) =>
  el('label', {}, el('input', { type: 'checkbox', name: 'events', value: type, defaultChecked: true, checked: true }), type)));

$('#webhook-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const events = [...e.target.querySelectorAll('input[name=events]:checked')].map((box) => box.value);
  submitForm(e.target, async ({ url }) => {
    const created = await api('POST', '/admin/webhooks', { url, events });
    await loadWebhooks();
    return `Added. Its signing secret, shown only now: ${created.secret}`;
  });
});

$('#api-key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  submitForm(e.target, async ({ event_id: eventId, name }) => {
    const created = await api('POST', '/admin/api-keys', { event_id: Number(eventId), name });
    await loadApiKeys();
    return `Created. The key, shown only now: ${created.key}`;
  });
});

if (token) openDashboard();
else showLogin();
