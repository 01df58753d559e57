// Training presets: the range loss is on where the blob finding applies, and settings saved by
// older checkpoints (no rangeWeight) resolve to what those checkpoints were trained with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRESETS, RANGE_WEIGHT, resolveHyperparameters } from '../../src/model/presets';

test('quick and standard train with the range loss; paper keeps the reference loss', () => {
  assert.equal(resolveHyperparameters('quick').rangeWeight, RANGE_WEIGHT);
  assert.equal(resolveHyperparameters('standard').rangeWeight, RANGE_WEIGHT);
  assert.equal(resolveHyperparameters('paper').rangeWeight, 0);
});

test('a checkpoint saved before rangeWeight existed resumes without a range loss', () => {
  // A resume resolves the saved settings over the paper preset (trainJob.ts), as here.
  const { rangeWeight, ...saved } = PRESETS.quick;
  assert.ok(rangeWeight > 0);
  const resumed = resolveHyperparameters('paper', saved);
  assert.equal(resumed.rangeWeight, 0);
  assert.equal(resumed.contentWeight, PRESETS.quick.contentWeight);
  assert.equal(resolveHyperparameters('paper', { ...PRESETS.quick }).rangeWeight, RANGE_WEIGHT);
});

test('rangeWeight is checked like every other weight', () => {
  assert.throws(
    () => resolveHyperparameters('quick', { rangeWeight: -1 }),
    /rangeWeight must be a number in 0\.\.1000000000000/,
  );
  assert.throws(() => resolveHyperparameters('quick', { rangeWeight: '1e6' }), /rangeWeight/);
  assert.equal(resolveHyperparameters('quick', { rangeWeight: 0 }).rangeWeight, 0);
});
