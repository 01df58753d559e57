// TensorFlow.js is a bundle of its own (dist/tfjs.js) that the CLI and the engine's worker load
// on first use (src/model/tf.ts, esbuild.mjs): a stylize on ONNX Runtime must never load it,
// and a stylize on tfjs must still find it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { REPO_ROOT, tempDir } from '../helpers/paths';

const DIST = path.join(REPO_ROOT, 'dist');
const STYLE = path.join(REPO_ROOT, 'styles', 'starry-night');
/** A function tfjs-core defines at the top level of its code. */
const TFJS_CORE_CODE = 'function registerGradient(';

test('the CLI and worker bundles leave tfjs to dist/tfjs.js and load it from there', () => {
  const tfjs = fs.readFileSync(path.join(DIST, 'tfjs.js'), 'utf8');
  assert.ok(tfjs.includes(TFJS_CORE_CODE), 'dist/tfjs.js holds tfjs-core');
  for (const bundle of ['cli.js', 'worker.js']) {
    const code = fs.readFileSync(path.join(DIST, bundle), 'utf8');
    assert.ok(!code.includes(TFJS_CORE_CODE), `${bundle} must not hold its own tfjs-core`);
    assert.ok(code.includes('require("./tfjs.js")'), `${bundle} loads dist/tfjs.js`);
  }
});

/** A work folder with a copy of a bundled style (its ONNX cache files go there, not into the repository) and a photo. */
async function workspace(prefix: string): Promise<{ work: string; style: string; photo: string }> {
  const work = tempDir(prefix);
  const style = path.join(work, 'starry');
  fs.cpSync(STYLE, style, { recursive: true, filter: (src) => !/\.onnx/.test(src) });
  const photo = path.join(work, 'photo.png');
  await sharp({ create: { width: 36, height: 20, channels: 3, background: '#4070a0' } })
    .png()
    .toFile(photo);
  return { work, style, photo };
}

/** `fst stylize --runtime <runtime>` of the workspace's photo into out-<runtime>; `node` starts the CLI. */
function stylize(
  node: string[],
  ws: { work: string; style: string; photo: string },
  runtime: string,
  env: NodeJS.ProcessEnv = process.env,
) {
  const out = path.join(ws.work, `out-${runtime}`);
  return spawnSync(process.execPath, [...node, 'stylize', '--runtime', runtime, '-m', ws.style, '-o', out, ws.photo], {
    encoding: 'utf8',
    timeout: 120_000,
    env,
  });
}

test('fst stylize loads tfjs only when it runs on tfjs', async () => {
  const ws = await workspace('fst-tfjs-lazy-');
  // Preloaded into the CLI process: which of dist's files it had loaded when it exited.
  const probe = path.join(ws.work, 'probe.js');
  fs.writeFileSync(
    probe,
    `process.on('exit', () => process.stderr.write('\\nLOADED=' + JSON.stringify(Object.keys(require.cache).filter((f) => f.startsWith(${JSON.stringify(DIST + path.sep)})).map((f) => f.slice(${DIST.length + 1})).sort()) + '\\n'));`,
  );
  const loaded = (runtime: string) => {
    const r = stylize(['--require', probe, path.join(REPO_ROOT, 'bin', 'fst.js')], ws, runtime);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`ran on ${runtime === 'onnx' ? 'onnxruntime' : 'tfjs'}`));
    return JSON.parse(/LOADED=(.*)/.exec(r.stderr)?.[1] ?? 'null') as string[];
  };
  assert.deepEqual(loaded('onnx'), ['cli.js']);
  assert.ok(loaded('tfjs').includes('tfjs.js'), 'a stylize on tfjs loads dist/tfjs.js');
});

test('a CLI bundle without dist/tfjs.js still stylizes on ONNX Runtime and says why tfjs cannot run', async () => {
  const ws = await workspace('fst-tfjs-missing-');
  const bundle = path.join(ws.work, 'dist', 'cli.js');
  fs.mkdirSync(path.dirname(bundle));
  fs.copyFileSync(path.join(DIST, 'cli.js'), bundle);
  // The copied bundle alone in its folder; its external packages (sharp, onnxruntime-node) come from the repository.
  const node = ['-e', `require(${JSON.stringify(bundle)}).runCli(process.argv.slice(1))`];
  const env = { ...process.env, NODE_PATH: path.join(REPO_ROOT, 'node_modules') };
  const onnx = stylize(node, ws, 'onnx', env);
  assert.equal(onnx.status, 0, onnx.stderr);
  assert.equal(fs.readdirSync(path.join(ws.work, 'out-onnx')).length, 1);
  const tfjs = stylize(node, ws, 'tfjs', env);
  assert.notEqual(tfjs.status, 0);
  const lines = tfjs.stderr.trim().split('\n');
  assert.equal(lines.length, 1, tfjs.stderr);
  assert.match(lines[0], /TensorFlow\.js cannot be loaded: Cannot find module '\.\/tfjs\.js'/);
  const outTfjs = path.join(ws.work, 'out-tfjs');
  assert.ok(!fs.existsSync(outTfjs) || fs.readdirSync(outTfjs).length === 0, 'nothing written');
});
