// Runs one fuzz family from a given input index and reports each input on file descriptor 3
// as a JSON line: {"t":"begin",i} before it runs (so the runner knows what was in flight if
// this process dies) and {"t":"end",...} with its classification afterwards.
// usage: tsx test/robustness/child.ts <family> <run root> <first index>
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { manifestLocations } from '../../src/engine/onnx/vulkanDrivers';
import { StyleTransferError } from '../../src/protocol/errors';
import { FAMILIES } from './families/index';
import { FORESEEN, type Family, type RunResult } from './lib/family';
import { FsRecorder, diffSnapshots, snapshot, type Snapshot } from './lib/sandbox';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface EndRecord {
  readonly t: 'end';
  readonly i: number;
  readonly kind: string;
  readonly status: 'handled' | 'crash';
  readonly note?: string;
  readonly detail?: string;
  readonly partial: readonly string[];
  readonly escapes: readonly string[];
  readonly leaked: number;
  readonly ms: number;
}

function emit(record: object): void {
  fs.writeSync(3, `${JSON.stringify(record)}\n`);
}

function describe(e: unknown): string {
  if (e instanceof Error)
    return `${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}`.slice(0, 2000);
  return String(e).slice(0, 2000);
}

async function main(): Promise<void> {
  const [name, root, startText] = process.argv.slice(2);
  const entry = FAMILIES.find((f) => f.name === name);
  if (!entry) throw new Error(`unknown family ${name}`);
  const family = ((await import(path.join(__dirname, 'families', entry.module))) as { family: Family }).family;
  const env = { dir: path.join(root, 'families', name), outside: path.join(root, 'outside') };
  fs.rmSync(env.dir, { recursive: true, force: true });
  fs.mkdirSync(env.dir, { recursive: true });
  const built = await family.build(env);
  emit({ t: 'built', count: built.inputs.length });
  const tf = built.usesTfjs ? (await import('../../src/model/tf')).tf : undefined;
  const recorder = new FsRecorder().install();
  const writeRoots = [...(built.writeRoots ?? [])];
  // The code itself may be read: the checkout, its dependencies, and tsx's compile cache.
  // So may the Vulkan loader's driver manifests and the device nodes that decide whether the
  // WebGPU provider is worth trying (src/engine/onnx/vulkanDrivers.ts).
  const readRoots = [
    ...(built.readRoots ?? []),
    REPO_ROOT,
    fs.realpathSync(path.join(REPO_ROOT, 'node_modules')),
    path.join(os.tmpdir(), `tsx-${process.getuid?.() ?? ''}`),
    ...manifestLocations(),
    '/dev',
  ];
  const inputsDir = path.join(env.dir, 'inputs');
  const only = process.env.FST_ROBUSTNESS_KIND ? new RegExp(process.env.FST_ROBUSTNESS_KIND) : undefined;
  for (let i = Number(startText); i < built.inputs.length; i++) {
    const input = built.inputs[i];
    if (only && !only.test(input.kind)) continue;
    emit({ t: 'begin', i, kind: input.kind });
    const dir = path.join(inputsDir, String(i));
    fs.mkdirSync(dir, { recursive: true });
    const ctx = { dir };
    await input.prepare?.(ctx);
    const before = snapshot(dir);
    const rootsBefore: Snapshot[] = writeRoots.map(snapshot);
    const tensorsBefore = tf?.memory().numTensors ?? 0;
    const started = Date.now();
    let result: RunResult = {};
    let status: 'handled' | 'crash' = 'handled';
    let detail: string | undefined;
    recorder.begin([dir, ...writeRoots], readRoots);
    try {
      result = await input.run(ctx);
    } catch (e) {
      if (e instanceof StyleTransferError && FORESEEN.has(e.code)) {
        result = { note: e.code };
      } else {
        status = 'crash';
        detail = describe(e);
      }
    }
    const violations = recorder.end();
    const leaked = tf ? tf.memory().numTensors - tensorsBefore : 0;
    const expected = new Set<string>();
    for (const o of result.outputs ?? []) {
      const parts = o.split(path.sep);
      for (let k = 1; k <= parts.length; k++) expected.add(parts.slice(0, k).join('/'));
    }
    const after = snapshot(dir);
    const mayChange = (rel: string) => (result.mayChange ?? []).some((m) => rel === m || rel.startsWith(`${m}/`));
    const diff = diffSnapshots(before, after, (rel) => expected.has(rel) || after.get(rel) === 'dir' || mayChange(rel));
    const partial = [
      ...diff.added,
      ...diff.leftovers,
      ...diff.changed.filter((c) => !mayChange(c)).map((c) => `${c} (original changed)`),
    ];
    writeRoots.forEach((r, k) => {
      const d = diffSnapshots(rootsBefore[k], snapshot(r), () => true);
      partial.push(...d.leftovers.map((f) => path.join(r, f)));
    });
    const escapes = violations.map((v) => `${v.op} ${v.access} ${v.path}`);
    if (result.escape) escapes.push(result.escape);
    emit({
      t: 'end',
      i,
      kind: input.kind,
      status,
      note: result.note,
      detail,
      partial,
      escapes,
      leaked,
      ms: Date.now() - started,
    } satisfies EndRecord);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await built.dispose?.();
  emit({ t: 'done' });
}

main().then(
  () => process.exit(0),
  (e) => {
    emit({ t: 'fatal', detail: describe(e) });
    process.exit(2);
  },
);
