import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONFIG_KEYS, parseConfig } from '../../src/config.ts';

test('config.defaults-match-design', () => {
  const c = parseConfig({});
  assert.equal(c.PORT, 8080);
  assert.equal(c.HOST, '127.0.0.1');
  assert.equal(c.ROLE, 'all');
  assert.equal(c.RESERVATION_TTL_SECONDS, 120);
  assert.equal(c.CLEANUP_INTERVAL_SECONDS, 30);
});

test('config.bad-value-names-the-variable', () => {
  for (const [name, value] of [['PORT', 'eighty'], ['ROLE', 'boss'], ['RESERVATION_TTL_SECONDS', '0'], ['DATABASE_URL', 'mysql://x']]) {
    assert.throws(() => parseConfig({ [name!]: value }), new RegExp(`^Error: invalid configuration: ${name}=`));
  }
});

test('config.env-example-lists-every-setting', () => {
  const listed = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => l.split('=')[0]);
  assert.deepEqual(listed.sort(), [...CONFIG_KEYS].sort());
});
