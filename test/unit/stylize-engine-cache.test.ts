// More styles than ONNX Runtime keeps sessions for: the session cache releases the oldest
// session when a third style loads, while the stylize engine still holds that style's
// stylizer. Found by the robustness fuzzer (and in the extension once the gallery rendered
// samples of several styles): the next image in the first style failed with "the ONNX Runtime
// session was released". The stylizer now takes its session from the cache per image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createStylizeEngine } from '../../src/engine/stylize/engines';
import { MAX_CACHED_SESSIONS } from '../../src/engine/onnx/onnxRunner';
import { loadStyle } from '../../src/engine/styles';
import { tempDir } from '../helpers/paths';
import { writeTinyStyle } from '../robustness/lib/styles';

test('styles used in turn, more than the session cache holds, all keep working (also side by side)', async () => {
  const root = tempDir('fst-sessions-');
  const styles = [];
  for (let k = 0; k <= MAX_CACHED_SESSIONS; k++)
    styles.push(await loadStyle(await writeTinyStyle(path.join(root, `s${k}`), `s${k}`, undefined, 20 + k)));
  const engine = await createStylizeEngine({ runtime: 'onnx', cacheDir: path.join(root, 'cache'), threads: 1 });
  try {
    const img = { width: 9, height: 7, channels: 3 as const, data: new Float32Array(9 * 7 * 3).fill(120) };
    const first = await engine.stylize(styles[0], img);
    for (let round = 0; round < 3; round++) {
      for (const s of styles) {
        const out = await engine.stylize(s, img);
        assert.deepEqual([out.width, out.height], [9, 7]);
      }
    }
    assert.deepEqual(
      [...(await engine.stylize(styles[0], img)).data],
      [...first.data],
      'the reopened session gives the same result',
    );
    const together = await Promise.all([...styles, ...styles, ...styles].map((s) => engine.stylize(s, img)));
    assert.equal(together.length, styles.length * 3);
  } finally {
    engine.dispose();
  }
});
