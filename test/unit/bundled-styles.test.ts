// The bundled styles' quality, as issue 12 asks it of them and the README states it: `fst
// evaluate` of each on the sample photos against its own painting — no blown-out blobs
// (≤ 0.3 % of the pixels), and Udnie within 1.25× the reference udnie's style distance and
// 1.5× its content distance. A retrained or re-exported style, or a change in the stylize path
// (padding, output range, float16 weights), that brings the blobs back fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runFst } from '../helpers/cli';
import { REPO_ROOT, hasSharedData, shared } from '../helpers/paths';

/** Udnie is measured beside the reference udnie in its own test below. */
const BUNDLED: readonly { folder: string; painting: string }[] = [
  { folder: 'starry-night', painting: 'starry_night.jpg' },
  { folder: 'the-great-wave', painting: 'wave.jpg' },
  { folder: 'the-scream', painting: 'the_scream.jpg' },
];

interface Figures {
  readonly styleDistance: number;
  readonly contentDistance: number;
  readonly blobShare: number;
}

/** `fst evaluate --json` of `models` (the first with -m, the next with --compare) on the sample photos. */
async function evaluate(painting: string, ...models: string[]): Promise<Figures[]> {
  const r = await runFst([
    'evaluate',
    '-m',
    models[0],
    ...(models[1] ? ['--compare', models[1]] : []),
    '--style',
    shared('styles', painting),
    '--vgg',
    shared('vgg19-keras-block1-3'),
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { models: { photos: unknown[]; mean: Figures }[] };
  for (const m of j.models) assert.equal(m.photos.length, 3, 'the three sample photos');
  return j.models.map((m) => m.mean);
}

for (const { folder, painting } of BUNDLED) {
  test(`bundled ${folder}: blob share ≤ 0.3 % on the sample photos`, async (t) => {
    if (!hasSharedData(t)) return;
    const [m] = await evaluate(painting, path.join(REPO_ROOT, 'styles', folder));
    assert.ok(m.blobShare <= 0.003, `blob share ${(100 * m.blobShare).toFixed(2)} %`);
    assert.ok(m.styleDistance > 0 && m.styleDistance < 0.3, `style distance ${m.styleDistance}`);
  });
}

test('bundled udnie: blob share ≤ 0.3 %, and against the reference udnie style ≤ 1.25×, content ≤ 1.5×', async (t) => {
  if (!hasSharedData(t)) return;
  const [ours, reference] = await evaluate(
    'udnie.jpg',
    path.join(REPO_ROOT, 'styles', 'udnie'),
    shared('pretrained', 'udnie'),
  );
  assert.ok(ours.blobShare <= 0.003, `blob share ${(100 * ours.blobShare).toFixed(2)} %`);
  assert.ok(
    ours.styleDistance <= 1.25 * reference.styleDistance,
    `style ${ours.styleDistance.toFixed(3)} vs ${reference.styleDistance.toFixed(3)}`,
  );
  assert.ok(
    ours.contentDistance <= 1.5 * reference.contentDistance,
    `content ${ours.contentDistance.toFixed(3)} vs ${reference.contentDistance.toFixed(3)}`,
  );
});
