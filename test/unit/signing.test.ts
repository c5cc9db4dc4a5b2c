import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { matchesAny, safeEqual } from '../../src/signing/constant-time.js';
import { generateSigningSecret, signingKey, signWebhook, verifyWebhook } from '../../src/signing/standard-webhooks.js';
import { eventKeyHash, webhookIdFor } from '../../src/domain/ids.js';
import { PROVIDERS } from '../helpers/fixtures.js';

interface Vector {
  name: string;
  scheme: string;
  secret: string;
  msg_id: string;
  timestamp: number;
  payload: string;
  expected: string;
}
const vectors = (JSON.parse(readFileSync(path.join(PROVIDERS, 'vectors.json'), 'utf8')).vectors as Vector[]).filter(
  (v) => v.scheme === 'standard-webhooks-v1',
);
const spec = vectors.find((v) => v.name === 'standard-webhooks-spec')!;
const key = signingKey(spec.secret);
const headers = (signature: string, timestamp = String(spec.timestamp)) => ({ id: spec.msg_id, timestamp, signature });

describe('Standard Webhooks', () => {
  it('reproduces every vector in the fixtures, the published one included', () => {
    assert.ok(vectors.length >= 2);
    for (const v of vectors) assert.equal(signWebhook([signingKey(v.secret)], v.msg_id, v.timestamp, v.payload), v.expected, v.name);
  });

  it('accepts within ±300 s and refuses at ±301 s', () => {
    for (const skew of [-299, 0, 299, 300, -300]) {
      assert.deepEqual(verifyWebhook(headers(spec.expected), spec.payload, [key], spec.timestamp + skew), { ok: true }, `skew ${skew}`);
    }
    for (const skew of [-301, 301]) {
      assert.deepEqual(verifyWebhook(headers(spec.expected), spec.payload, [key], spec.timestamp + skew), { ok: false, reason: 'stale-timestamp' });
    }
  });

  it('a wrong signature before the right one passes; v1a alone, a flipped byte, or no headers fail', () => {
    const now = spec.timestamp;
    assert.ok(verifyWebhook(headers(`v1,AAAA ${spec.expected}`), spec.payload, [key], now).ok);
    assert.ok(!verifyWebhook(headers('v1a,' + spec.expected.slice(3)), spec.payload, [key], now).ok);
    assert.ok(!verifyWebhook(headers(spec.expected), spec.payload.replace('2432', '2433'), [key], now).ok);
    assert.deepEqual(verifyWebhook({ id: undefined, timestamp: undefined, signature: undefined }, spec.payload, [key], now), { ok: false, reason: 'missing-headers' });
    assert.ok(!verifyWebhook(headers(spec.expected, 'abc'), spec.payload, [key], now).ok);
  });

  it('the secret without whsec_ (and unpadded) gives the same key; rotation signs with every key', () => {
    assert.deepEqual(signingKey(spec.secret.slice('whsec_'.length)), key);
    const other = signingKey(generateSigningSecret());
    const sig = signWebhook([other, key], spec.msg_id, spec.timestamp, spec.payload);
    assert.equal(sig.split(' ').length, 2);
    assert.ok(verifyWebhook(headers(sig), spec.payload, [key], spec.timestamp).ok, 'old receiver still accepts');
    assert.throws(() => signingKey('whsec_'));
    assert.throws(() => signingKey('not base64!'));
  });
});

describe('identifiers and comparisons', () => {
  it('webhook-id is stable, has no dot, and follows the documented derivation', () => {
    const id = webhookIdFor('asterisk', '1795757060.5');
    assert.equal(id, webhookIdFor('asterisk', '1795757060.5'));
    assert.match(id, /^fax_[0-9a-f]{32}$/);
    assert.equal(id, `fax_${eventKeyHash('asterisk', '1795757060.5')}`);
    assert.notEqual(id, webhookIdFor('asterisk', '1795757060.6'));
  });

  it('safeEqual compares content of any length; matchesAny finds one of several', () => {
    assert.ok(safeEqual('abc', 'abc'));
    assert.ok(!safeEqual('abc', 'abcd'));
    assert.ok(!safeEqual('', 'a'));
    assert.ok(matchesAny('new', ['old', 'new']));
    assert.ok(!matchesAny('x', []));
  });
});
