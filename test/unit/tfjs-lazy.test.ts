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

test('fst stylize loads tfjs only when it runs on tfjs', async () => {
  const work = tempDir('fst-tfjs-lazy-');
  // A copy of the style: its ONNX cache files go there, not into the repository.
  const style = path.join(work, 'starry');
  fs.cpSync(STYLE, style, { recursive: true, filter: (src) => !/\.onnx/.test(src) });
  const photo = path.join(work, 'photo.png');
  await sharp({ create: { width: 36, height: 20, channels: 3, background: '#4070a0' } })
    .png()
    .toFile(photo);
  // Preloaded into the CLI process: which of dist's files it had loaded when it exited.
  const probe = path.join(work, 'probe.js');
  fs.writeFileSync(
    probe,
    `process.on('exit', () => process.stderr.write('\\nLOADED=' + JSON.stringify(Object.keys(require.cache).filter((f) => f.startsWith(${JSON.stringify(DIST + path.sep)})).map((f) => f.slice(${DIST.length + 1})).sort()) + '\\n'));`,
  );
  const run = (runtime: string) => {
    const r = spawnSync(
      process.execPath,
      [
        '--require',
        probe,
        path.join(REPO_ROOT, 'bin', 'fst.js'),
        'stylize',
        '--runtime',
        runtime,
        '-m',
        style,
        '-o',
        path.join(work, `out-${runtime}`),
        photo,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`ran on ${runtime === 'onnx' ? 'onnxruntime' : 'tfjs'}`));
    return JSON.parse(/LOADED=(.*)/.exec(r.stderr)?.[1] ?? 'null') as string[];
  };
  assert.deepEqual(run('onnx'), ['cli.js']);
  assert.ok(run('tfjs').includes('tfjs.js'), 'a stylize on tfjs loads dist/tfjs.js');
});

test('a CLI bundle without dist/tfjs.js still stylizes on ONNX Runtime and says why tfjs cannot run', async () => {
  const work = tempDir('fst-tfjs-missing-');
  const bundleDir = path.join(work, 'dist');
  fs.mkdirSync(bundleDir);
  fs.copyFileSync(path.join(DIST, 'cli.js'), path.join(bundleDir, 'cli.js'));
  const style = path.join(work, 'starry');
  fs.cpSync(STYLE, style, { recursive: true, filter: (src) => !/\.onnx/.test(src) });
  const photo = path.join(work, 'photo.png');
  await sharp({ create: { width: 24, height: 16, channels: 3, background: '#a07040' } })
    .png()
    .toFile(photo);
  // The copied bundle alone in its folder; its external packages (sharp, onnxruntime-node) come from the repository.
  const cli = (runtime: string) =>
    spawnSync(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(path.join(bundleDir, 'cli.js'))}).runCli(process.argv.slice(1))`,
        'stylize',
        '--runtime',
        runtime,
        '-m',
        style,
        '-o',
        path.join(work, `out-${runtime}`),
        photo,
      ],
      { encoding: 'utf8', timeout: 120_000, env: { ...process.env, NODE_PATH: path.join(REPO_ROOT, 'node_modules') } },
    );
  const onnx = cli('onnx');
  assert.equal(onnx.status, 0, onnx.stderr);
  assert.equal(fs.readdirSync(path.join(work, 'out-onnx')).length, 1);
  const tfjs = cli('tfjs');
  assert.notEqual(tfjs.status, 0);
  const lines = tfjs.stderr.trim().split('\n');
  assert.equal(lines.length, 1, tfjs.stderr);
  assert.match(lines[0], /TensorFlow\.js cannot be loaded: Cannot find module '\.\/tfjs\.js'/);
  assert.ok(!fs.existsSync(path.join(work, 'out-tfjs')) || fs.readdirSync(path.join(work, 'out-tfjs')).length === 0);
});
