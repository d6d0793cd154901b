import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCurrency, minorUnits, normalizePrice } from '../../src/domain/money.ts';

test('money.minor-units-follow-iso-4217', () => {
  assert.equal(minorUnits('EUR'), 2);
  assert.equal(minorUnits('JPY'), 0);
  assert.equal(minorUnits('KWD'), 3);
  // ICU gives these the digits of their cash; ISO 4217 does not.
  assert.equal(minorUnits('IQD'), 3);
  assert.equal(minorUnits('HUF'), 2);
});

test('money.prices-are-written-in-the-currencys-minor-units', () => {
  assert.equal(normalizePrice('49', 'EUR'), '49.00');
  assert.equal(normalizePrice('49.5', 'EUR'), '49.50');
  assert.equal(normalizePrice('5000', 'JPY'), '5000');
  assert.equal(normalizePrice('5000.00', 'JPY'), '5000');
  assert.equal(normalizePrice('1.5', 'KWD'), '1.500');
  assert.equal(normalizePrice('0', 'EUR'), '0.00');
});

test('money.a-price-finer-than-the-currency-is-refused', () => {
  assert.equal(normalizePrice('5000.5', 'JPY'), undefined);
  assert.equal(normalizePrice('1.005', 'EUR'), undefined);
  assert.equal(normalizePrice('1.0050', 'KWD'), '1.005');
});

test('money.currency-codes-are-the-iso-ones-in-use', () => {
  for (const code of ['EUR', 'USD', 'JPY', 'GBP', 'CHF', 'KWD']) assert.ok(isCurrency(code), code);
  for (const code of ['XYZ', 'eur', 'EURO', 'DEM']) assert.ok(!isCurrency(code), code);
});
