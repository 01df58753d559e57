// The robustness suite: ≥ 1000 generated hostile inputs (images, checkpoints, ml5 folders, VGG
// weights, webview messages, jobs through the real worker bundle), each run through the real
// code path in a fresh folder and classified:
//   crash        anything but a foreseen StyleTransferError (TypeError, 'internal', 'backend'),
//                a hang (no answer within INPUT_TIMEOUT_MS) or a dead process / worker;
//   partial file anything left beside the expected outputs, any *.tmp / .writing-* / .partial /
//                .previous / .old, or an original whose bytes changed;
//   escape       a write, or a content read, outside the folders the input may use (recorded
//                by an fs layer that resolves links), a hostile path a validator accepted, or
//                a change to the decoy tree outside every allowed folder;
//   leaked       growth of tf.memory().numTensors across an input (families that use tfjs).
// Families run in child processes, so a native crash (sharp, ONNX Runtime) kills only the child:
// the input in flight is counted as a crash and the family goes on from the next input.
// Prints one line per family, then exactly one summary line, and exits non-zero unless
// N ≥ 1000 and C = P = E = L = 0.
// usage: tsx test/robustness/run.ts [family …]      (FST_ROBUSTNESS_VERBOSE=1: every input)
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { FAMILIES } from './families/index';
import type { EndRecord } from './child';
import { snapshot } from './lib/sandbox';

// ONNX Runtime's telemetry off in every process this starts (src/protocol/telemetry.ts).
process.env.ORT_DISABLE_TELEMETRY = '1';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const CHILD = path.join(__dirname, 'child.ts');
const MIN_INPUTS = 1000;
/** Per input, generous for a busy 2-core machine: the slowest inputs take a few seconds. */
const INPUT_TIMEOUT_MS = Number(process.env.FST_ROBUSTNESS_INPUT_TIMEOUT_MS ?? 90_000);
/** Building a family (seed images, a small checkpoint, the VGG copy). */
const BUILD_TIMEOUT_MS = 180_000;
const VERBOSE = process.env.FST_ROBUSTNESS_VERBOSE === '1';
const RESULTS_DIR = path.join(REPO_ROOT, 'test-results', 'robustness');

interface FamilyTally {
  name: string;
  inputs: number;
  crashes: number;
  partial: number;
  escapes: number;
  leaked: number;
  seconds: number;
  kinds: Map<string, { n: number; notes: Map<string, number> }>;
  problems: string[];
  skipped?: string;
}

function emptyTally(name: string): FamilyTally {
  return { name, inputs: 0, crashes: 0, partial: 0, escapes: 0, leaked: 0, seconds: 0, kinds: new Map(), problems: [] };
}

/** The decoy tree outside every allowed folder: hostile paths point here; it must never change. */
function makeOutside(root: string): string {
  const outside = path.join(root, 'outside');
  fs.mkdirSync(path.join(outside, 'secrets'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'decoy.png'), crypto.randomBytes(256));
  fs.writeFileSync(path.join(outside, 'secrets', 'token.txt'), 'not for the extension\n');
  fs.writeFileSync(path.join(outside, 'Variable'), Buffer.alloc(31104));
  fs.writeFileSync(path.join(outside, 'model.json'), '{}');
  return outside;
}

function runChild(
  name: string,
  root: string,
  start: number,
  tally: FamilyTally,
  log: fs.WriteStream,
): Promise<{ next?: number; fatal?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, name, root, String(start)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, FST_ROBUSTNESS_CHILD: '1' },
    });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    let inflight: { i: number; kind: string } | undefined;
    let done = false;
    let fatal: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, ms);
    };
    arm(BUILD_TIMEOUT_MS);
    const lines = readline.createInterface({ input: child.stdio[3] as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      let rec: { t: string } & Record<string, unknown>;
      try {
        rec = JSON.parse(line);
      } catch {
        return;
      }
      if (rec.t === 'begin') {
        inflight = { i: rec.i as number, kind: rec.kind as string };
        arm(INPUT_TIMEOUT_MS);
      } else if (rec.t === 'end') {
        inflight = undefined;
        record(tally, rec as unknown as EndRecord);
        arm(INPUT_TIMEOUT_MS);
      } else if (rec.t === 'done') {
        done = true;
      } else if (rec.t === 'fatal') {
        fatal = String(rec.detail);
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (done) return resolve({});
      // An error of the harness itself (not of an input) stops the family.
      if (fatal)
        return resolve({ fatal: inflight ? `${fatal} (during input #${inflight.i} ${inflight.kind})` : fatal });
      if (inflight) {
        const why = timedOut
          ? `hung for more than ${INPUT_TIMEOUT_MS / 1000} s`
          : `the process died (exit ${code}${signal ? `, ${signal}` : ''})`;
        record(tally, {
          t: 'end',
          i: inflight.i,
          kind: inflight.kind,
          status: 'crash',
          detail: why,
          partial: [],
          escapes: [],
          leaked: 0,
          ms: 0,
        });
        return resolve({ next: inflight.i + 1 });
      }
      resolve({
        fatal:
          fatal ??
          (timedOut
            ? 'building the family timed out'
            : `the family process exited with ${code}${signal ? ` (${signal})` : ''} before its first input`),
      });
    });
  });
}

function record(t: FamilyTally, r: EndRecord): void {
  t.inputs++;
  const k = t.kinds.get(r.kind) ?? { n: 0, notes: new Map() };
  k.n++;
  const note = r.status === 'crash' ? 'CRASH' : (r.note ?? 'ok');
  k.notes.set(note, (k.notes.get(note) ?? 0) + 1);
  t.kinds.set(r.kind, k);
  if (r.status === 'crash') {
    t.crashes++;
    t.problems.push(`crash  #${r.i} ${r.kind}: ${r.detail ?? ''}`);
  }
  if (r.partial.length) {
    t.partial += r.partial.length;
    t.problems.push(`partial #${r.i} ${r.kind}: ${r.partial.join(', ')}`);
  }
  if (r.escapes.length) {
    t.escapes += r.escapes.length;
    t.problems.push(`escape #${r.i} ${r.kind}: ${r.escapes.join('; ')}`);
  }
  if (r.leaked !== 0) {
    t.leaked += Math.abs(r.leaked);
    t.problems.push(`leak   #${r.i} ${r.kind}: ${r.leaked} tensors`);
  }
  if (VERBOSE) console.log(`  ${t.name} #${r.i} ${r.kind}: ${note} (${r.ms} ms)`);
}

async function runFamily(name: string, root: string, log: fs.WriteStream): Promise<FamilyTally> {
  const tally = emptyTally(name);
  const entry = FAMILIES.find((f) => f.name === name)!;
  const available = entry.available(REPO_ROOT);
  if (available !== true) {
    tally.skipped = available;
    return tally;
  }
  const t0 = Date.now();
  let start = 0;
  for (;;) {
    log.write(`\n=== ${name} from input ${start}\n`);
    const r = await runChild(name, root, start, tally, log);
    if (r.fatal) {
      tally.crashes++;
      tally.problems.push(`crash  (family) ${r.fatal}`);
      break;
    }
    if (r.next === undefined) break;
    start = r.next;
  }
  tally.seconds = (Date.now() - t0) / 1000;
  return tally;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** The worker family runs the bundle: rebuild it when src/ is newer (npm test builds first anyway). */
function ensureBundles(): void {
  const worker = path.join(REPO_ROOT, 'dist', 'worker.js');
  if (fs.existsSync(worker) && fs.statSync(worker).mtimeMs >= newestMtime(path.join(REPO_ROOT, 'src'))) return;
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'esbuild.mjs')], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('node esbuild.mjs failed');
}

async function main(): Promise<number> {
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !FAMILIES.some((f) => f.name === n));
  if (unknown.length) {
    console.error(`unknown families: ${unknown.join(', ')} (known: ${FAMILIES.map((f) => f.name).join(', ')})`);
    return 2;
  }
  ensureBundles();
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fst-robustness-'));
  const log = fs.createWriteStream(path.join(RESULTS_DIR, 'children.log'));
  const outside = makeOutside(root);
  const outsideBefore = snapshot(outside);
  const cwdBefore = fs.readdirSync(REPO_ROOT).sort().join('\n');
  const tallies: FamilyTally[] = [];
  const started = Date.now();
  try {
    for (const f of FAMILIES) {
      if (only.length && !only.includes(f.name)) continue;
      const t = await runFamily(f.name, root, log);
      tallies.push(t);
      if (t.skipped) {
        if (f.hidden) continue;
        console.log(`  ${f.name.padEnd(17)} skipped: ${t.skipped}`);
        continue;
      }
      console.log(
        `  ${f.name.padEnd(17)} ${String(t.inputs).padStart(5)} inputs  ${t.crashes} crashes  ${t.partial} partial  ${t.escapes} escapes  ${t.leaked} leaked  ${t.seconds.toFixed(1)} s`,
      );
      for (const p of t.problems.slice(0, 20)) console.log(`      ${p.split('\n').join('\n        ')}`);
      if (t.problems.length > 20)
        console.log(`      … ${t.problems.length - 20} more in test-results/robustness/report.json`);
    }
  } finally {
    log.end();
  }
  // Whole-run checks: the decoy tree is untouched, nothing new appeared in the checkout.
  const extra = emptyTally('run');
  const outsideAfter = snapshot(outside);
  for (const [k, v] of outsideAfter)
    if (outsideBefore.get(k) !== v) {
      extra.escapes++;
      extra.problems.push(`escape: ${path.join(outside, k)} was created or changed`);
    }
  for (const k of outsideBefore.keys())
    if (!outsideAfter.has(k)) {
      extra.escapes++;
      extra.problems.push(`escape: ${path.join(outside, k)} was removed`);
    }
  const cwdAfter = fs.readdirSync(REPO_ROOT).sort().join('\n');
  if (cwdAfter !== cwdBefore) {
    extra.escapes++;
    extra.problems.push(`escape: the checkout's top level changed:\n${cwdAfter}`);
  }
  for (const p of extra.problems) console.log(`  ${p}`);
  tallies.push(extra);
  fs.rmSync(root, { recursive: true, force: true });

  const sum = (k: 'inputs' | 'crashes' | 'partial' | 'escapes' | 'leaked') => tallies.reduce((s, t) => s + t[k], 0);
  const [N, C, P, E, L] = [sum('inputs'), sum('crashes'), sum('partial'), sum('escapes'), sum('leaked')];
  fs.writeFileSync(
    path.join(RESULTS_DIR, 'report.json'),
    JSON.stringify(
      {
        seconds: (Date.now() - started) / 1000,
        totals: { inputs: N, crashes: C, partial: P, escapes: E, leaked: L },
        families: tallies.map((t) => ({
          name: t.name,
          skipped: t.skipped,
          inputs: t.inputs,
          crashes: t.crashes,
          partial: t.partial,
          escapes: t.escapes,
          leaked: t.leaked,
          seconds: t.seconds,
          kinds: Object.fromEntries(
            [...t.kinds].map(([k, v]) => [k, { n: v.n, outcomes: Object.fromEntries(v.notes) }]),
          ),
          problems: t.problems,
        })),
      },
      null,
      1,
    ),
  );
  const wanted = only.length ? 0 : MIN_INPUTS;
  if (N < wanted) console.log(`  only ${N} inputs ran; at least ${MIN_INPUTS} are required`);
  console.log(`robustness: ${N} inputs, ${C} crashes, ${P} partial files, ${E} escapes, ${L} leaked tensors`);
  return N >= wanted && C === 0 && P === 0 && E === 0 && L === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    console.log('robustness: 0 inputs, 1 crashes, 0 partial files, 0 escapes, 0 leaked tensors');
    process.exit(1);
  },
);
