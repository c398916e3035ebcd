import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anyValueToString } from '../../pipeline/model.js';

// Expected strings are what the collector's pcommon.Value.AsString() writes.
test('anyValueToString matches the collector for every AnyValue kind', () => {
  assert.equal(anyValueToString('text'), 'text');
  assert.equal(anyValueToString(true), 'true');
  assert.equal(anyValueToString(42n), '42');
  assert.equal(anyValueToString(-9007199254740993n), '-9007199254740993');
  assert.equal(anyValueToString(0.25), '0.25');
  assert.equal(anyValueToString(3), '3');
  assert.equal(anyValueToString(1e21), '1000000000000000000000');
  assert.equal(anyValueToString(1.5e-7), '0.00000015');
  assert.equal(anyValueToString(NaN), 'NaN');
  assert.equal(anyValueToString(-Infinity), '-Inf');
  assert.equal(anyValueToString(new Uint8Array([1, 2, 255])), 'AQL/');
  assert.equal(anyValueToString(['a', 1n, 2.5, false, null]), '["a",1,2.5,false,null]');
  assert.equal(anyValueToString(null), '');
});

test('maps stringify with sorted keys, the last of repeated keys winning, as Go encodes them', () => {
  const v = { kvlist: [{ key: 'b', value: 1n }, { key: 'a', value: { kvlist: [{ key: 'z', value: 'x' }, { key: 'y', value: 'w' }] } }, { key: 'b', value: 2n }] };
  assert.equal(anyValueToString(v), '{"a":{"y":"w","z":"x"},"b":2}');
  assert.equal(anyValueToString({ kvlist: [{ key: '__proto__', value: 'p' }] }), '{"__proto__":"p"}');
});
