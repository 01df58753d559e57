// The FLOP count of a training step (src/model/trainFlops.ts) against a small network counted by
// hand, and the paper's network against the ≈ 740 GFLOP the design notes give for 256² batch 4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainStepFlops } from '../../src/model/trainFlops';
import { PAPER_ARCHITECTURE } from '../../src/model/architecture';
import { REFERENCE_LOSS_LAYERS } from '../../src/model/losses';

test('a tiny network at 8×8, batch 1, counted by hand', () => {
  const f = trainStepFlops({
    arch: { type: 'johnson2016', filters: [2, 2, 2], residualBlocks: 1 },
    batch: 1,
    height: 8,
    width: 8,
    layers: { content: 'relu1_2', style: ['relu1_1', 'relu2_1'] },
  });
  // Transform net multiply-accumulates: conv1 9×9 3→2 on 8² = 64·81·3·2 = 31104; conv2 3×3 2→2
  // stride 2 → 4² = 16·9·2·2 = 576; conv3 → 2² = 4·36 = 144; res1a + res1b at 2² = 2·144 = 288;
  // deconv1 scatters 2² inputs = 144; deconv2 4² inputs = 576; conv4 9×9 2→3 on 8² = 31104.
  const macs = 31104 + 576 + 144 + 288 + 144 + 576 + 31104;
  assert.equal(f.transformForward, 2 * macs);
  assert.equal(f.transformBackward, 2 * 2 * macs - 2 * 31104); // no input gradient for conv1
  // VGG: conv1_1 3→64 on 8² = 64·9·3·64 = 110592; conv1_2 64→64 = 64·9·64·64 = 2359296;
  // pool1 → 4²; conv2_1 64→128 = 16·9·64·128 = 1179648.
  assert.equal(f.vggOutputForward, 2 * (110592 + 2359296 + 1179648));
  assert.equal(f.vggOutputBackward, f.vggOutputForward);
  assert.equal(f.vggContentForward, 2 * (110592 + 2359296));
  // Gram: relu1_1 64 positions × 64² and relu2_1 16 positions × 128², 2 FLOPs each, forward and backward.
  assert.equal(f.gram, 2 * (2 * 64 * 64 * 64 + 2 * 16 * 128 * 128));
  assert.equal(f.total, 21956480);
});

test('batch and size scale the count; the paper network at 256² batch 4 to relu5_1 is ≈ 740 GFLOP', () => {
  const one = trainStepFlops({
    arch: PAPER_ARCHITECTURE,
    batch: 1,
    height: 128,
    width: 128,
    layers: REFERENCE_LOSS_LAYERS,
  });
  const four = trainStepFlops({
    arch: PAPER_ARCHITECTURE,
    batch: 4,
    height: 256,
    width: 256,
    layers: REFERENCE_LOSS_LAYERS,
  });
  assert.ok(Math.abs(four.total / one.total - 16) < 1e-9, `${four.total / one.total}`);
  assert.ok(four.total > 735e9 && four.total < 745e9, `${four.total / 1e9} GFLOP`);
});
