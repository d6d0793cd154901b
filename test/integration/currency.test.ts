// Prices in the event's currency (issue 14): every event has an ISO 4217 currency (its own, or
// DEFAULT_CURRENCY), every price is written with that currency's minor units, and the API shows
// both wherever a price appears.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { post } from '../helpers/sale.ts';

type App = Awaited<ReturnType<Harness['app']>>;

describe('currencies', () => {
  let h: Harness;
  let app: App;
  before(async () => {
    h = await createHarness({ DEFAULT_CURRENCY: 'GBP' });
    app = await h.app();
  });
  after(() => h.close());

  const event = (currency?: string) =>
    post(app, '/admin/events', { name: 'Money night', starts_at: '2031-01-01T20:00:00Z', ...(currency ? { currency } : {}) });
  const ticketType = (eventId: number, price: string) =>
    post(app, `/admin/events/${eventId}/ticket-types`, { name: `At ${price}`, price, capacity: 10 });

  test('currency.defaults-to-the-setting-and-shows-beside-every-price', async () => {
    const res = await event();
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().currency, 'GBP');
    const tt = await ticketType(res.json().id, '12.5');
    assert.equal(tt.statusCode, 201, tt.body);
    assert.deepEqual([tt.json().price, tt.json().currency], ['12.50', 'GBP']);
    const listed = (await app.inject(`/events/${res.json().id}`)).json();
    assert.equal(listed.currency, 'GBP');
    assert.deepEqual(listed.ticket_types.map((t: { price: string; currency: string }) => [t.price, t.currency]), [['12.50', 'GBP']]);
  });

  test('currency.yen-has-no-minor-unit', async () => {
    const id = (await event('JPY')).json().id;
    const whole = await ticketType(id, '5000');
    assert.equal(whole.statusCode, 201, whole.body);
    assert.deepEqual([whole.json().price, whole.json().currency], ['5000', 'JPY']);
    assert.equal((await ticketType(id, '5000.00')).json().price, '5000');
    const sen = await ticketType(id, '5000.5');
    assert.equal(sen.statusCode, 400);
    assert.equal(sen.json().error.code, 'invalid_price');
    assert.match(sen.json().error.message, /JPY has no minor unit/);
  });

  test('currency.three-decimal-currencies-keep-three', async () => {
    const id = (await event('KWD')).json().id;
    assert.equal((await ticketType(id, '1.5')).json().price, '1.500');
    assert.equal((await ticketType(id, '1.125')).json().price, '1.125');
    const eur = (await event('EUR')).json().id;
    const fils = await ticketType(eur, '1.125');
    assert.equal(fils.statusCode, 400);
    assert.equal(fils.json().error.code, 'invalid_price');
  });

  test('currency.unknown-codes-are-refused', async () => {
    const unknown = await event('XYZ');
    assert.equal(unknown.statusCode, 400);
    assert.equal(unknown.json().error.code, 'unknown_currency');
    assert.equal((await event('eur')).statusCode, 400);
    assert.equal((await event('EURO')).statusCode, 400);
    const { rows } = await h.ctx.db.query('SELECT 1 FROM events WHERE currency NOT IN ($1, $2, $3, $4)', ['GBP', 'JPY', 'KWD', 'EUR']);
    assert.equal(rows.length, 0, 'nothing was created');
  });
});
