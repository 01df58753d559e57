// The engine's 'preview' job as the gallery uses it: downscaled to the preview size, the
// original and the raw stylization as PNGs of the same size, and the source's upright size
// (EXIF orientations 5–8 swap width and height).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import sharp from 'sharp';
import { runJob } from '../../src/engine/jobs';
import { hasSharedData, shared, tempDir } from '../helpers/paths';
import { engineSettings } from '../helpers/training';

const settings = (cacheDir: string) =>
  engineSettings('cpu', { stylizeRuntime: 'onnx', threads: 1, cacheDir, maxInputPixels: 10_000_000 });

async function pngSize(b: Uint8Array): Promise<[number, number]> {
  const m = await sharp(b).metadata();
  assert.equal(m.format, 'png');
  return [m.width!, m.height!];
}

test('preview: downscaled to maxSide, same-size original and stylization, upright source size', async (t) => {
  if (!hasSharedData(t)) return;
  const dir = tempDir();
  // 200×120 stored, EXIF orientation 6 (rotate 90° clockwise to view): upright it is 120×200.
  const file = path.join(dir, 'rotated.jpg');
  const raw = Buffer.alloc(200 * 120 * 3);
  for (let i = 0; i < raw.length; i += 3) {
    raw[i] = (i / 3) % 200;
    raw[i + 1] = 90;
    raw[i + 2] = 160;
  }
  await sharp(raw, { raw: { width: 200, height: 120, channels: 3 } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toFile(file);

  const r = await runJob(
    {
      type: 'preview',
      image: { path: file },
      style: shared('pretrained', 'udnie'),
      maxSide: 100,
      options: { strength: 1, colorMode: 'none' },
    },
    settings(dir),
    {},
  );
  assert.deepEqual([r.sourceWidth, r.sourceHeight], [120, 200], 'upright size of the source');
  assert.deepEqual(await pngSize(r.original.bytes), [60, 100], 'the longer side is maxSide');
  assert.deepEqual(await pngSize(r.stylized.bytes), [60, 100]);
  assert.deepEqual([r.original.width, r.original.height, r.stylized.width, r.stylized.height], [60, 100, 60, 100]);

  // Bytes instead of a path (a dropped file), full size (maxSide 0) at half scale.
  const png = await sharp(raw, { raw: { width: 200, height: 120, channels: 3 } })
    .png()
    .toBuffer();
  const half = await runJob(
    {
      type: 'preview',
      image: { bytes: new Uint8Array(png), name: 'dropped.png' },
      style: shared('pretrained', 'udnie'),
      maxSide: 0,
      options: { scale: 0.5 },
    },
    settings(dir),
    {},
  );
  assert.deepEqual([half.sourceWidth, half.sourceHeight], [200, 120]);
  assert.deepEqual(await pngSize(half.stylized.bytes), [100, 60]);
  assert.deepEqual(
    await pngSize(half.original.bytes),
    [100, 60],
    'the original as the network saw it, aligned with the stylization',
  );
});
