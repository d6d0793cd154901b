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
 * Sends a JSON request and resolves with the reply's body; throws ApiError for an error reply or
 * no connection. `onReply` sees every reply that arrives, successful or not.
 */
export async function requestJson(method, path, body, { headers = {}, onReply } = {}) {
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
  if (!res.ok) throw new ApiError(res.status, data?.error?.code ?? 'http_error', data?.error?.message ?? `The server answered ${res.status}.`);
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
