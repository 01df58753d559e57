// Byte conversion of network outputs: toBytes rounds halves up and clamps exactly as
// Math.round with clamping did (every result file goes through it), NaN and infinities included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toBytes } from '../../src/model/pixels';

/** The definition toBytes must keep: clamp to 0..255, Math.round, NaN → 0. */
const reference = (v: number): number => (v !== v ? 0 : Math.min(255, Math.max(0, Math.round(v))));

test('toBytes: clamps and rounds halves up like Math.round, NaN and ±Infinity included', () => {
  const edges = [
    -Infinity,
    -1e9,
    -256,
    -0.5,
    -0.49,
    -0,
    0,
    0.25,
    0.49999997,
    0.5,
    0.5000001,
    1,
    1.5,
    2.5,
    127.49999,
    127.5,
    254.4999,
    254.5,
    254.9,
    255,
    255.4,
    255.5,
    256,
    1e9,
    Infinity,
    NaN,
  ];
  const data = Float32Array.from(edges);
  const got = toBytes(data);
  assert.ok(got instanceof Uint8Array);
  assert.deepEqual([...got], [...data].map(reference), `for ${[...data].map((v, i) => `${v}→${got[i]}`).join(', ')}`);
});

test('toBytes agrees with the definition on a million values around and beyond 0..255', () => {
  const data = new Float32Array(1 << 20);
  let seed = 12345;
  for (let i = 0; i < data.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    // Mostly spread over -40..295, every 7th on an exact half.
    data[i] = i % 7 === 0 ? (seed % 600) / 2 - 20 : (seed / 2 ** 32) * 335 - 40;
  }
  const got = toBytes(data);
  for (let i = 0; i < data.length; i++) {
    if (got[i] !== reference(data[i])) assert.fail(`value ${data[i]} gave ${got[i]}, expected ${reference(data[i])}`);
  }
});
