// bin/fst.js, the launcher users run: on Linux with glibc, `fst stylize` and `fst evaluate` run in
// a child process started with glibc's malloc asked for transparent huge pages (the first image's
// page faults, see bin/fst.js); other commands run in one process. Its exit code and signals
// must be the child's, its output printed once, and nothing may be left half-written.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { runFst } from '../helpers/cli';
import { REPO_ROOT, hasSharedData, shared, tempDir } from '../helpers/paths';

const FST = path.join(REPO_ROOT, 'bin', 'fst.js');
const root = tempDir('fst-launcher-');
const probe = path.join(root, 'probe.js');
// Each process of the launcher says who it is and what glibc was told.
fs.writeFileSync(
  probe,
  "process.stderr.write('FST_PROC '+JSON.stringify({pid:process.pid,ppid:process.ppid,tunables:process.env.GLIBC_TUNABLES??''})+'\\n')",
);
const hugePagesExpected =
  process.platform === 'linux' &&
  Boolean((process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);

interface Proc {
  pid: number;
  ppid: number;
  tunables: string;
}
const procs = (stderr: string): Proc[] =>
  [...stderr.matchAll(/^FST_PROC (.*)$/gm)].map((m) => JSON.parse(m[1]) as Proc);
const env = (extra: Record<string, string> = {}) => ({
  ...process.env,
  ORT_DISABLE_TELEMETRY: '1',
  NODE_OPTIONS: `--require ${JSON.stringify(probe)}`,
  ...extra,
});

async function udnie(t: import('node:test').TestContext): Promise<string | undefined> {
  if (!hasSharedData(t)) return undefined;
  const dir = path.join(root, 'udnie');
  if (!fs.existsSync(dir)) assert.equal((await runFst(['import', shared('pretrained', 'udnie'), '-o', dir])).code, 0);
  return dir;
}

test('fst stylize: the child has the huge-pages tunable (kept beside the user’s own), one output line, exit 0', async (t) => {
  const style = await udnie(t);
  if (!style) return;
  const photo = path.join(root, 'photo.png');
  await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 200, g: 120, b: 40 } } })
    .png()
    .toFile(photo);
  const out = path.join(root, 'out');
  const r = spawnSync(process.execPath, [FST, 'stylize', '-q', '-m', style, '-o', out, photo], {
    encoding: 'utf8',
    env: env({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }),
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [path.join(out, 'photo.udnie.png')]);
  assert.ok(fs.existsSync(path.join(out, 'photo.udnie.png')));
  const p = procs(r.stderr);
  if (!hugePagesExpected) {
    assert.equal(p.length, 1, 'one process where glibc is not there');
    return;
  }
  assert.equal(p.length, 2, r.stderr);
  const [launcher, child] = p;
  assert.equal(child.ppid, launcher.pid, 'the second process is the launcher’s child');
  assert.equal(launcher.tunables, 'glibc.malloc.arena_max=2');
  assert.equal(child.tunables, 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
});

test('fst stylize: the child’s failure is the launcher’s exit code, its one error line printed once', () => {
  const r = spawnSync(process.execPath, [FST, 'stylize', '-m', root, path.join(root, 'missing.jpg')], {
    encoding: 'utf8',
    env: env(),
  });
  assert.equal(r.status, 1);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('fst'));
  assert.equal(errors.length, 1, r.stderr);
  assert.equal(procs(r.stderr).length, hugePagesExpected ? 2 : 1);
});

test('other commands (and a tunable already set) run in one process', () => {
  for (const [args, extra] of [
    [['--help'], {}],
    [['import', '--help'], {}],
    [['stylize', '--help'], { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' }],
  ] as const) {
    const r = spawnSync(process.execPath, [FST, ...args], { encoding: 'utf8', env: env(extra) });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(procs(r.stderr).length, 1, `${args.join(' ')}: ${r.stderr}`);
  }
});

test('SIGTERM to the launcher ends the child too and leaves no partial output', async (t) => {
  const style = await udnie(t);
  if (!style) return;
  if (!hugePagesExpected) return t.skip('one process here: nothing to pass the signal on to');
  const photo = path.join(root, 'big.png');
  await sharp({ create: { width: 1536, height: 1536, channels: 3, background: { r: 30, g: 90, b: 160 } } })
    .png()
    .toFile(photo);
  const out = path.join(root, 'out-term');
  const child = spawn(process.execPath, [FST, 'stylize', '-q', '-m', style, '-o', out, photo], { env: env() });
  let stderr = '';
  const both = new Promise<void>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (procs(stderr).length === 2) resolve();
    });
  });
  await both;
  const worker = procs(stderr)[1];
  child.kill('SIGTERM');
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  assert.equal(signal, 'SIGTERM', `exit ${code}: ${stderr}`);
  assert.throws(() => process.kill(worker.pid, 0), /ESRCH/, 'the stylizing process is gone');
  assert.deepEqual(fs.existsSync(out) ? fs.readdirSync(out) : [], [], 'nothing written, no temporary file left');
});
