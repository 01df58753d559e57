// Issue 15.6: no third-party telemetry from the CLI or the engine's worker. ONNX Runtime ≥ 1.29
// writes ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ (device id, event database) and an
// empty mat-debug-<pid>.log in the temp folder unless ORT_DISABLE_TELEMETRY=1 is in the real
// process environment. Each run here gets an isolated HOME and TMPDIR, no XDG_CACHE_HOME and no
// ORT_DISABLE_TELEMETRY from the test runner, so only our own code can turn it off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { REPO_ROOT, tempDir } from '../helpers/paths';

const STYLE = path.join(REPO_ROOT, 'styles', 'starry-night');

interface Sandbox {
  home: string;
  tmp: string;
  work: string;
  style: string;
  photo: string;
  env: NodeJS.ProcessEnv;
}

async function sandbox(): Promise<Sandbox> {
  const root = tempDir('fst-telemetry-');
  const [home, tmp, work] = ['home', 'tmp', 'work'].map((d) => path.join(root, d));
  for (const d of [home, tmp, work]) fs.mkdirSync(d);
  // A copy of the style: its ONNX cache files go there, not into the repository.
  const style = path.join(work, 'starry');
  fs.cpSync(STYLE, style, { recursive: true, filter: (src) => !/\.onnx/.test(src) });
  const photo = path.join(work, 'photo.png');
  await sharp({ create: { width: 40, height: 28, channels: 3, background: '#4070a0' } })
    .png()
    .toFile(photo);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: tmp, TSX_DISABLE_CACHE: '1' };
  delete env.XDG_CACHE_HOME;
  delete env.ORT_DISABLE_TELEMETRY;
  return { home, tmp, work, style, photo, env };
}

/** Every path under `dir` (relative), folders included. */
function tree(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

function assertNoTelemetry(s: Sandbox): void {
  const home = tree(s.home);
  assert.deepEqual(
    home.filter((p) => /microsoft|onnxruntime/i.test(p)),
    [],
    `telemetry files in HOME: ${home.join(', ')}`,
  );
  assert.deepEqual(tree(s.tmp), [], 'nothing left in TMPDIR (mat-debug-<pid>.log, .ses, worker scripts)');
}

test('fst stylize (the built CLI) runs ONNX Runtime without writing telemetry or temp files', async () => {
  const cli = path.join(REPO_ROOT, 'bin', 'fst.js');
  assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist', 'cli.js')), 'dist/cli.js missing: run `node esbuild.mjs` first');
  const s = await sandbox();
  const out = path.join(s.work, 'out');
  const r = spawnSync(process.execPath, [cli, 'stylize', '-m', s.style, '-o', out, s.photo], {
    env: s.env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  // ONNX Runtime really ran (otherwise the check below proves nothing).
  assert.match(r.stderr, /ran on onnxruntime/);
  assert.equal(fs.readdirSync(out).length, 1);
  assertNoTelemetry(s);
});

test('the engine worker started by EngineClient runs ONNX Runtime without telemetry', async () => {
  assert.ok(
    fs.existsSync(path.join(REPO_ROOT, 'dist', 'worker.js')),
    'dist/worker.js missing: run `node esbuild.mjs` first',
  );
  const s = await sandbox();
  const r = child(s, 'client');
  assert.deepEqual(r, { runtime: 'onnxruntime cpu fp32', outputs: 1, failures: [] });
  assertNoTelemetry(s);
});

test('a worker whose starter left telemetry on refuses to start ONNX Runtime (its process.env is only a copy)', async () => {
  const s = await sandbox();
  const r = child(s, 'raw');
  assert.equal(r.outputs, 0);
  assert.match(r.failures?.[0] ?? '', /ONNX Runtime is not started: its telemetry would be on/);
  assertNoTelemetry(s);
});

function child(
  s: Sandbox,
  mode: 'client' | 'raw',
): { runtime?: string; outputs?: number; failures?: string[]; error?: string } {
  const script = path.join(REPO_ROOT, 'test', 'helpers', 'telemetryWorkerChild.ts');
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', script, mode, s.style, s.photo, path.join(s.work, `out-${mode}`), path.join(s.work, 'cache')],
    { cwd: REPO_ROOT, env: s.env, encoding: 'utf8', timeout: 120_000 },
  );
  const line = r.stdout.trim().split('\n').pop() ?? '';
  assert.equal(r.status, 0, `child failed: ${line}\n${r.stderr.slice(-2000)}`);
  return JSON.parse(line);
}
