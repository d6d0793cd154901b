// What both pages need: JSON calls to the API with its errors as exceptions, and DOM building.

export const $ = (selector) => document.querySelector(selector);

/** An API error reply (status 0: the server could not be reached), with the error's code and message. */
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * Milliseconds to wait before trying again after a refusal: the reply's Retry-After (seconds or an
 * HTTP date; `fallbackSeconds` when it has none) plus up to as much again at random, so that the
 * buyers a busy server refused together do not all come back in the same instant.
 */
export function backoffMs(retryAfter, fallbackSeconds = 1) {
  const seconds = Number(retryAfter);
  const at = Date.parse(retryAfter ?? '');
  const base = 1000 * (seconds > 0 ? seconds : Number.isNaN(at) ? fallbackSeconds : Math.max(fallbackSeconds, (at - Date.now()) / 1000));
  return base + Math.random() * base;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends a JSON request and resolves with the reply's body; throws ApiError for an error reply or
 * no connection. `onReply` sees every reply that arrives, successful or not. With `retries`, a
 * refusal for load or rate (503 or 429 with Retry-After) is sent again after backoffMs(), at most
 * that many times; `onWait(ms)` is told of each wait. Only for requests that a refusal leaves
 * undone (the server refuses before acting).
 */
export async function requestJson(method, path, body, { headers = {}, onReply, retries = 0, onWait } = {}) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await requestOnce(method, path, body, headers, onReply);
    } catch (err) {
      if (attempt >= retries || !err.retryAfter) throw err;
      const ms = backoffMs(err.retryAfter);
      onWait?.(ms);
      await sleep(ms);
    }
  }
}

async function requestOnce(method, path, body, headers, onReply) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached. Check your connection and try again.');
  }
  onReply?.(res);
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new ApiError(res.status, data?.error?.code ?? 'http_error', data?.error?.message ?? `The server answered ${res.status}.`);
    if (res.status === 503 || res.status === 429) err.retryAfter = res.headers.get('retry-after') ?? undefined;
    throw err;
  }
  return data;
}

/** An element with properties and children: el('p', { className: 'muted' }, 'text', child). */
export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/**
 * A price as people read it, in the viewer's locale: "€49.00", "¥5,000". The server writes the
 * decimal string with exactly its currency's ISO 4217 minor units, so those digits are shown
 * (the browser's own data gives some currencies the digits of their cash instead).
 */
export function formatPrice(price, currency) {
  const digits = price.includes('.') ? price.length - price.indexOf('.') - 1 : 0;
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits })
      .format(Number(price));
  } catch {
    return `${price} ${currency}`;
  }
}
