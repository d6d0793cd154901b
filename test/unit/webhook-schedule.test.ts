import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RETRY_DELAY_MS, retryDelayMs } from '../../src/domain/webhooks.ts';

test('webhook-schedule.doubles-from-the-base-up-to-an-hour', () => {
  const full = (n: number) => retryDelayMs(n, 10_000, () => 1);
  assert.deepEqual([1, 2, 3, 4, 5].map(full), [10_000, 20_000, 40_000, 80_000, 160_000]);
  assert.equal(full(9), 2_560_000);
  assert.equal(full(10), MAX_RETRY_DELAY_MS);
  assert.equal(full(500), MAX_RETRY_DELAY_MS);
});

test('webhook-schedule.jitter-keeps-each-wait-in-its-second-half', () => {
  for (let n = 1; n <= 12; n++) {
    const full = retryDelayMs(n, 10_000, () => 1);
    assert.equal(retryDelayMs(n, 10_000, () => 0), full / 2);
    const drawn = retryDelayMs(n, 10_000);
    assert.ok(drawn >= full / 2 && drawn <= full, `retry ${n}: ${drawn}`);
  }
});

test('webhook-schedule.a-day-of-retries-is-a-few-dozen-attempts', () => {
  // Even with the longest waits, a delivery is tried about 30 times in the default 24 h window.
  let elapsed = 0;
  let attempts = 1;
  while (elapsed < 86_400_000) elapsed += retryDelayMs(attempts++, 10_000, () => 1);
  assert.ok(attempts >= 25 && attempts <= 40, `${attempts} attempts`);
});
