// The buyer's page: pick tickets, join the line (or a sale's pre-queue before its opening), watch
// it move (GET /queue/stream pushes every change), confirm the hold before it runs out, or, where
// the organiser confirms after payment, go on to their checkout with a signed pass. The buyer's
// name and current place in line are kept in localStorage, so a reload (or the way back from the
// checkout) resumes where the buyer was.
import { $, backoffMs, el, formatPrice, requestJson } from '/shared/page.js';

const USER_KEY = 'boxoffice.user';
const PLACE_KEY = 'boxoffice.place';
const EVENTS_POLL_MS = 5_000;
const STREAM_RETRY_SECONDS = 3;
// A join refused for load (503) or rate (429) changed nothing: the page tries again after
// Retry-After plus jitter, this many times, telling the buyer meanwhile.
const JOIN_RETRIES = 20;
const TERMINAL = new Set(['confirmed', 'expired', 'cancelled', 'sold_out']);
// A device clock further than this from the server's is corrected for in the countdown; the
// Date header only has one-second resolution, so smaller differences are noise.
const SKEW_THRESHOLD_MS = 2_000;
// Normally the server says "expired" within a second of the deadline; if not, ask it.
const EXPIRY_CHECK_MS = 4_000;

const lineView = $('#view-line');

let user = localStorage.getItem(USER_KEY);
/** { token, ticketTypeId, quantity, label, confirmBy } of the line the buyer is in, or null. */
let place = JSON.parse(localStorage.getItem(PLACE_KEY) ?? 'null');
let view;
let stream;
let eventsTimer;
let countdownTimer;
let expiryCheck;
let clockSkew = 0;
let openingTimer;

/**
 * Calls the API; every reply's Date header corrects the countdown for a device clock that is off.
 * With `retry`, a refusal for load or rate is tried again after Retry-After plus jitter.
 */
function api(method, path, body, retry) {
  return requestJson(method, path, body, {
    ...retry,
    onReply(res) {
      const serverNow = Date.parse(res.headers.get('date') ?? '');
      if (Number.isNaN(serverNow)) return;
      const skew = serverNow + 500 - Date.now();
      clockSkew = Math.abs(skew) > SKEW_THRESHOLD_MS ? skew : 0;
    },
  });
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

function notify(message) {
  $('#notice').textContent = message;
  $('#notice').hidden = !message;
}

function announce(text) {
  $('#announce').textContent = text;
}

function show(id) {
  for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== id;
  if (id !== 'view-events') clearInterval(eventsTimer);
  if (id !== 'view-line') {
    closeStream();
    stopCountdown();
  }
}

function savePlace(next) {
  place = next;
  if (next) localStorage.setItem(PLACE_KEY, JSON.stringify(next));
  else localStorage.removeItem(PLACE_KEY);
}

// ---- who is buying

function renderWho() {
  $('#who').hidden = !user;
  $('#who-name').textContent = user ? `Buying as ${user}` : '';
}

function askName() {
  show('view-name');
  $('#name-input').value = user ?? '';
  $('#name-input').focus();
}

$('#name-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('#name-input').value.trim();
  if (!name) return;
  user = name;
  localStorage.setItem(USER_KEY, name);
  renderWho();
  if (place) void resume();
  else void showEvents();
});

$('#change-name').addEventListener('click', askName);

// ---- events and ticket types

async function showEvents() {
  show('view-events');
  $('#events-title').focus();
  await refreshEvents();
  clearInterval(eventsTimer);
  eventsTimer = setInterval(refreshEvents, EVENTS_POLL_MS);
}

let listingFailed = false;

async function refreshEvents() {
  try {
    renderEvents(await api('GET', '/events'));
    if (listingFailed) notify('');
    listingFailed = false;
  } catch (err) {
    listingFailed = true;
    notify(`Could not load the tickets: ${err.message}`);
  }
}

const clock = (iso) => new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
const when = (iso) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function availability(t) {
  if (t.state === 'scheduled') return `On sale from ${when(t.prequeue_opens_at ?? t.sale_starts_at)}.`;
  if (t.state === 'prequeue') return `Pre-queue open: at ${clock(t.sale_starts_at)} everyone in it gets a random place in line.`;
  if (t.state === 'closed') return 'This sale is closed.';
  if (t.quantity_available > 0) return `${t.quantity_available.toLocaleString()} of ${t.capacity.toLocaleString()} left`;
  return 'None available right now. Tickets on hold may still come back to the line: join to find out at once.';
}

/** The join button and availability line of a ticket type, as its sale stands now. */
function showSaleState(item, t) {
  const node = item.querySelector('.availability');
  node.textContent = availability(t);
  node.classList.toggle('none', t.state === 'closed' || t.state === 'sold_out');
  const button = item.querySelector('button[type=submit]');
  button.textContent = t.state === 'prequeue' ? 'Join the pre-queue' : 'Join the line';
  button.setAttribute('aria-label', `${button.textContent} for ${t.name}`);
  button.hidden = t.state === 'scheduled' || t.state === 'closed';
}

function renderEvents(events) {
  const container = $('#events');
  const types = events.flatMap((e) => e.ticket_types);
  $('#no-events').hidden = types.length > 0;
  const ids = types.map((t) => t.id).join(',');
  if (container.dataset.ids === ids) {
    // Same ticket types: update the figures in place, so a chosen quantity and the focus stay.
    for (const t of types) showSaleState(container.querySelector(`[data-id="${t.id}"]`), t);
    return;
  }
  container.dataset.ids = ids;
  container.replaceChildren(...events.filter((e) => e.ticket_types.length).map(renderEvent));
}

function renderEvent(event) {
  const when = new Date(event.starts_at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  return el('article', { className: 'event' },
    el('h2', { textContent: event.name }),
    el('p', { className: 'muted small', textContent: [event.venue, when].filter(Boolean).join(' · ') }),
    el('ul', { className: 'ticket-types' }, ...event.ticket_types.map((t) => renderTicketType(event, t))),
  );
}

function renderTicketType(event, t) {
  const select = el('select', { id: `qty-${t.id}`, name: 'quantity' },
    ...Array.from({ length: t.max_per_order }, (_, i) => el('option', { value: String(i + 1), textContent: String(i + 1) })));
  const button = el('button', { type: 'submit', className: 'primary' });
  const form = el('form', { className: 'join' },
    el('label', { htmlFor: select.id, textContent: 'Tickets' }), select, button);
  const widget = t.join_challenge ? challengeWidget(t.id, form) : undefined;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const label = `${event.name} · ${t.name} · ${formatPrice(t.price, t.currency)} each`;
    void join({ ticketTypeId: t.id, quantity: Number(select.value), label, confirmBy: t.confirm_by }, button, widget);
  });
  const item = el('li', { className: 'ticket-type' },
    el('div', { className: 'tt-head' }, el('span', { textContent: t.name }), el('span', { className: 'price', textContent: formatPrice(t.price, t.currency) })),
    el('p', { className: 'availability small' }), form);
  item.dataset.id = String(t.id);
  showSaleState(item, t);
  return item;
}

// ---- the bot challenge: the ALTCHA widget, served by this server (no third party), loaded when needed

let altchaLoaded;

function loadAltcha() {
  altchaLoaded ??= (async () => {
    document.head.append(el('link', { rel: 'stylesheet', href: '/vendor/altcha/altcha.css' }));
    await import('/vendor/altcha/altcha.js');
    globalThis.$altcha.algorithms.set('SHA-256', () => new Worker('/vendor/altcha/workers/sha.js'));
  })();
  return altchaLoaded;
}

/** An ALTCHA widget in the join form, fetching its challenge from this server. */
function challengeWidget(ticketTypeId, form) {
  const widget = el('altcha-widget');
  widget.setAttribute('challenge', `/ticket-types/${ticketTypeId}/challenge`);
  widget.setAttribute('auto', 'off');
  widget.setAttribute('hidefooter', '');
  // The widget adds a required checkbox: the form's own validation would stop the submit that
  // solves the challenge (solved() does it on submit instead).
  form.noValidate = true;
  form.append(widget);
  void loadAltcha();
  return widget;
}

/** The widget's payload, solving its challenge first when needed. */
async function solved(widget) {
  await loadAltcha();
  await customElements.whenDefined('altcha-widget');
  if (widget.getState?.() === 'verified' && widget.payload) return widget.payload;
  return new Promise((resolve, reject) => {
    const onState = (e) => {
      if (e.detail.state === 'verified') {
        widget.removeEventListener('statechange', onState);
        widget.payload = e.detail.payload;
        resolve(e.detail.payload);
      } else if (e.detail.state === 'error') {
        widget.removeEventListener('statechange', onState);
        reject(new Error('The anti-bot check failed; try again.'));
      }
    };
    widget.addEventListener('statechange', onState);
    void widget.verify();
  });
}

async function join(choice, button, widget) {
  button.disabled = true;
  notify('');
  try {
    const body = { user_id: user, ticket_type_id: choice.ticketTypeId, quantity: choice.quantity };
    if (widget) body.altcha = await solved(widget);
    const joined = await api('POST', '/queue/join', body, {
      retries: JOIN_RETRIES,
      onWait: (ms) => notify(`Many buyers are joining right now. Trying again in ${Math.ceil(ms / 1000)} s…`),
    });
    notify('');
    savePlace({
      ...choice, token: joined.queue_token, quantity: joined.quantity, entryId: joined.entry_id, receipt: joined.receipt,
      drawn: joined.status === 'prequeue',
    });
    enterLine(joined);
  } catch (err) {
    notify(err.message);
  } finally {
    if (widget) {
      widget.payload = undefined;
      widget.reset?.();
    }
    button.disabled = false;
  }
}

// ---- the line: one state shown at a time, from the server's status object

function enterLine(status) {
  show('view-line');
  $('#line-what').textContent = `${place.label} · ${plural(place.quantity, 'ticket')}`;
  view = undefined;
  update(status);
  if (!TERMINAL.has(status.status)) openStream();
}

async function resume() {
  show('view-line');
  $('#line-what').textContent = `${place.label} · ${plural(place.quantity, 'ticket')}`;
  try {
    enterLine(await api('GET', `/reservation/status?token=${encodeURIComponent(place.token)}`));
  } catch (err) {
    if (err.status === 404 || err.status === 400) {
      savePlace(null);
      await showEvents();
      notify('Your earlier place in line could not be found any more.');
    } else {
      update({ status: 'error', message: err.message });
    }
  }
}

const ANNOUNCEMENTS = {
  prequeue: (v) => `You are in the pre-queue. At ${clock(v.sale_starts_at)} everyone in it gets a random place in line.`,
  pending: (v) => `You are in line, place ${v.position}.`,
  reserved: () => 'Your tickets are held. Confirm before the time runs out.',
  confirmed: (v) => `Booked. Booking number ${v.booking_id}.`,
  expired: () => 'Your hold ran out and the tickets went back on sale.',
  cancelled: () => 'You left the line.',
  sold_out: () => 'Sold out.',
  error: (v) => v.message,
};

function update(next) {
  const entered = !view || view.status !== next.status;
  view = next;
  if (entered) {
    for (const state of lineView.querySelectorAll('[data-state]')) state.hidden = state.dataset.state !== next.status;
    lineView.querySelector(`[data-state="${next.status}"] h1`).focus();
    announce(ANNOUNCEMENTS[next.status](next));
    stopCountdown();
    if (next.status === 'reserved') {
      showDecision();
      startCountdown(next.expires_at);
    }
    if (next.status === 'prequeue') startOpeningCountdown(next.sale_starts_at);
  }
  if (next.status === 'prequeue') renderPrequeue(next);
  if (next.status === 'pending') renderPending(next);
  if (next.status === 'confirmed') {
    $('#booking').textContent = `#${next.booking_id}`;
    $('#booking-what').textContent = `${plural(next.quantity, 'ticket')}: ${place.label}`;
  }
  if (next.status === 'sold_out') {
    $('#sold-out-text').textContent = next.quantity > 1
      ? `Not enough tickets of this type are left for ${next.quantity}, and no more can come back to the line. Fewer may still be available.`
      : 'Every ticket of this type is booked or held by buyers ahead of you, and none can come back to the line.';
  }
  if (next.status === 'error') $('#error-text').textContent = next.message;
  if (TERMINAL.has(next.status) || next.status === 'error') {
    closeStream();
    $('#live').hidden = true;
  }
}

function waitText(v, ahead) {
  if (ahead === 0) return 'You are next';
  if (v.estimated_wait_seconds === undefined) return 'Not known yet';
  const s = v.estimated_wait_seconds;
  if (s < 60) return 'Under a minute';
  if (s < 5_400) return `About ${plural(Math.round(s / 60), 'minute')}`;
  return `About ${plural(Math.round(s / 3_600), 'hour')}`;
}

function drawLink() {
  const query = new URLSearchParams({ ticket_type_id: String(place.ticketTypeId), ...(place.entryId ? { entry: place.entryId } : {}) });
  for (const a of lineView.querySelectorAll('.draw-link')) a.href = `/draw.html?${query}`;
}

function renderPrequeue(v) {
  $('#prequeue-text').textContent = `At ${clock(v.sale_starts_at)} everyone here gets a random place in line; `
    + 'then buyers who join later go behind, in the order they join.';
  $('#entry-id').textContent = v.entry_id ?? place.entryId ?? '';
  drawLink();
}

// ---- the countdown to the draw, from the server's sale_starts_at

function startOpeningCountdown(startsAt) {
  const end = Date.parse(startsAt);
  const tick = () => {
    const seconds = Math.max(0, Math.ceil((end - (Date.now() + clockSkew)) / 1000));
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = String(seconds % 60).padStart(2, '0');
    $('#opening-countdown').textContent = seconds ? (h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`) : 'Drawing…';
  };
  tick();
  openingTimer = setInterval(tick, 250);
}

function renderPending(v) {
  $('#drawn-note').hidden = !place?.drawn;
  if (place?.drawn) drawLink();
  const ahead = v.ahead ?? v.position - 1; // the join reply carries the position only
  $('#position').textContent = String(v.position);
  $('#ahead').textContent = ahead === 0 ? 'Nobody' : String(ahead);
  $('#remaining').textContent = v.remaining === undefined ? '–' : String(v.remaining);
  $('#wait').textContent = waitText(v, ahead);
  // Everyone ahead wants at least one ticket: past what can still come, this buyer gets none
  // unless someone ahead leaves. Said now rather than after a long wait.
  const unlikely = v.remaining !== undefined && ahead + v.quantity > v.remaining;
  $('#unlikely').hidden = !unlikely;
  $('#unlikely').textContent = unlikely
    ? `Only ${plural(v.remaining, 'ticket')} may still come to the line, and the ${ahead === 1 ? 'person' : `${ahead} people`} ahead of you come first. `
      + 'You may not get tickets; stay in line in case someone ahead leaves.'
    : '';
}

// ---- live updates

function openStream() {
  closeStream();
  const source = new EventSource(`/queue/stream?token=${encodeURIComponent(place.token)}`);
  stream = source;
  source.onopen = () => setLive(true);
  source.onmessage = (message) => update(JSON.parse(message.data));
  source.onerror = () => {
    if (stream !== source) return;
    if (source.readyState === EventSource.CLOSED) {
      // Refused outright (an error status): the status route says why.
      stream = undefined;
      setLive(false, 'Live updates stopped: checking your place…');
      void checkStatus();
    } else {
      setLive(false, 'Connection lost: reconnecting…');
    }
  };
}

function closeStream() {
  stream?.close();
  stream = undefined;
}

function setLive(on, text) {
  const live = $('#live');
  live.hidden = false;
  live.classList.toggle('off', !on);
  live.textContent = on ? 'Live: this page updates by itself.' : text;
}

async function checkStatus() {
  if (!place) return;
  try {
    const status = await api('GET', `/reservation/status?token=${encodeURIComponent(place.token)}`);
    update(status);
    // An EventSource cannot read a refused stream's Retry-After: the stream comes back after a
    // few seconds plus jitter, so that the buyers of a full server do not reconnect together.
    setTimeout(() => {
      if (place && !stream && (view.status === 'pending' || view.status === 'reserved')) openStream();
    }, backoffMs(undefined, STREAM_RETRY_SECONDS));
  } catch (err) {
    if (err.status === 404) update({ status: 'error', message: 'Your place in line could not be found any more.' });
    else {
      setLive(false, `${err.message} Retrying…`);
      setTimeout(checkStatus, backoffMs(err.retryAfter, STREAM_RETRY_SECONDS));
    }
  }
}

/** The held buyer's next step: confirm here, or pay at the organiser's checkout, who confirms. */
function showDecision() {
  const byOrganiser = place?.confirmBy === 'organiser';
  const reserved = lineView.querySelector('[data-state="reserved"]');
  reserved.querySelector('[data-action="confirm"]').hidden = byOrganiser;
  reserved.querySelector('[data-action="checkout"]').hidden = !byOrganiser;
  $('#reserved-text').textContent = byOrganiser
    ? 'Pay at the organiser\'s checkout before the time runs out, or they go to the next person in line.'
    : 'Confirm before the time runs out, or they go to the next person in line.';
}

// ---- the hold's countdown, from the server's expires_at

function startCountdown(expiresAt) {
  const end = Date.parse(expiresAt);
  const decisions = lineView.querySelectorAll('[data-state="reserved"] [data-action="confirm"], [data-state="reserved"] [data-action="checkout"]');
  const tick = () => {
    const left = end - (Date.now() + clockSkew);
    const seconds = Math.max(0, Math.ceil(left / 1000));
    $('#countdown').textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
    $('.countdown').classList.toggle('urgent', seconds <= 30);
    $('#times-up').hidden = left > 0;
    for (const button of decisions) button.disabled = left <= 0;
    if (left <= 0 && !expiryCheck) expiryCheck = setTimeout(checkStatus, EXPIRY_CHECK_MS);
  };
  tick();
  countdownTimer = setInterval(tick, 250);
}

function stopCountdown() {
  clearInterval(countdownTimer);
  clearInterval(openingTimer);
  clearTimeout(expiryCheck);
  expiryCheck = undefined;
}

// ---- the buyer's decisions

const actions = {
  async confirm(button) {
    button.disabled = true;
    notify('');
    try {
      const booked = await api('POST', '/reservation/confirm', { token: place.token });
      update({ status: 'confirmed', ticket_type_id: booked.ticket_type_id, quantity: booked.quantity, booking_id: booked.booking_id });
    } catch (err) {
      if (err.status === 409) await checkStatus();
      else if (err.code === 'api_key_required') {
        // The organiser confirms this ticket type (a place saved before the page knew): go to checkout.
        savePlace({ ...place, confirmBy: 'organiser' });
        showDecision();
      } else notify(err.message);
    } finally {
      button.disabled = false;
    }
  },
  async checkout(button) {
    button.disabled = true;
    notify('');
    try {
      // The pass carries the token to the organiser's server, which confirms once the buyer has paid.
      const { checkout_url: url } = await api('POST', '/reservation/checkout', { token: place.token });
      window.location.assign(url);
    } catch (err) {
      button.disabled = false;
      if (err.status === 409) await checkStatus();
      else notify(err.message);
    }
  },
  async cancel(button) {
    button.disabled = true;
    notify('');
    try {
      await api('POST', '/reservation/cancel', { token: place.token });
      update({ status: 'cancelled', ticket_type_id: place.ticketTypeId, quantity: place.quantity });
    } catch (err) {
      if (err.status === 409) await checkStatus();
      else notify(err.message);
    } finally {
      button.disabled = false;
    }
  },
  async rejoin(button) {
    await join({ ticketTypeId: place.ticketTypeId, quantity: place.quantity, label: place.label, confirmBy: place.confirmBy }, button);
  },
  async home() {
    savePlace(null);
    notify('');
    await showEvents();
  },
  async retry() {
    await resume();
  },
};

lineView.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]');
  if (button) void actions[button.dataset.action](button);
});

renderWho();
if (!user) askName();
else if (place) void resume();
else void showEvents();
