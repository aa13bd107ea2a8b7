import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { verifyPass } from './seatwise-pass.mjs';

const v = JSON.parse(readFileSync(new URL('../vectors.json', import.meta.url)));

test('a pass signed by Seatwise verifies, before its expiry only', () => {
  const c = verifyPass(v.valid, [v.key], v.now);
  assert.deepEqual(c, { scope: v.scope, ticket: v.ticket, exp: v.exp });
  assert.throws(() => verifyPass(v.valid, [v.key], v.exp), /expired/);
});

test('the previous key still verifies while keys rotate', () => {
  assert.equal(verifyPass(v.valid, ['another key of at least 32 characters!', v.key], v.now).ticket, v.ticket);
});

test('forged, tampered and foreign passes are refused, saying why', () => {
  assert.throws(() => verifyPass(v.forged, [v.key], v.now), /signature/);
  assert.throws(() => verifyPass(v.valid, ['a different key of 32 characters or more'], v.now), /key id/);
  assert.throws(() => verifyPass('nonsense', [v.key], v.now), /two base64url parts/);
});
