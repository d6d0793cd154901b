// The token record format, read in TypeScript (src/domain/record.ts) and, through the shared
// include, in Lua: both sides must agree on every state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseRecord } from '../../src/domain/record.ts';
import { loadScripts } from '../../src/redis/client.ts';

test('record.parses-every-state', () => {
  assert.deepEqual(parseRecord('7|2|P|3kQ_x-9AbCdEfG|ada@example.com'),
    { seq: 7, quantity: 2, state: 'P', rest: '3kQ_x-9AbCdEfG', userId: 'ada@example.com' });
  assert.deepEqual(parseRecord('8|1|R1764300000000|3kQ_x-9AbCdEfG|bo'),
    { seq: 8, quantity: 1, state: 'R', holdEndsMs: 1764300000000, rest: '3kQ_x-9AbCdEfG', userId: 'bo' });
  for (const state of ['E', 'S', 'C', 'Q'] as const) assert.equal(parseRecord(`1|1|${state}|r|x`).state, state);
});

test('record.user-id-may-contain-the-separator', () => {
  assert.equal(parseRecord('3|1|P|r|a|b|c').userId, 'a|b|c');
});

test('scripts.every-script-loads-with-its-includes-expanded', () => {
  const scripts = loadScripts();
  assert.ok(scripts.length >= 10);
  for (const s of scripts) assert.doesNotMatch(s.lua, /@include/, `${s.name} still has an include line`);
  const join = scripts.find((s) => s.name === 'join')!;
  assert.equal(join.numberOfKeys, 8);
  assert.equal(scripts.find((s) => s.name === 'settle')!.numberOfKeys, undefined, 'settle names a variable number of buckets');
  assert.match(join.lua, /local function readRecord/);
  assert.match(join.lua, /local function seal/, 'the pre-queue seal is included where a join can seal it (issue 13)');
});

test('scripts.a-file-whose-name-does-not-parse-stops-the-start', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'boxoffice-scripts-'));
  try {
    mkdirSync(path.join(dir, 'includes'));
    writeFileSync(path.join(dir, 'join.lua'), 'return 1');
    assert.throws(() => loadScripts(pathToFileURL(`${dir}/`)), /join\.lua: a script's name must be/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
