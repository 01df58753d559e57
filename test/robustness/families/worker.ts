// Hostile inputs through the real worker bundle (dist/worker.js) via EngineClient, as the
// extension runs them: images to stylize, image bytes to preview (the gallery's drop path), and
// jobs with wrong-typed or missing fields. A native crash of sharp or ONNX Runtime would take
// the worker (or this process) down and count as a crash; so does any error that is not a
// foreseen one, and a worker that was replaced without saying so.
import fs from 'node:fs';
import path from 'node:path';
import { EngineClient } from '../../../src/services/engineClient';
import { StyleTransferError } from '../../../src/protocol/errors';
import type { EngineSettings, JobRequest, StylizeResult } from '../../../src/protocol/jobs';
import { CrashError, FORESEEN, checkErrorInfos, type Family, type FuzzInput, type RunResult } from '../lib/family';
import { Rng, seedOf } from '../lib/prng';
import { writeTinyStyle } from '../lib/styles';
import { FUZZ_MAX_PIXELS, imageCases, optionsFor } from './images';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

function hostileJobs(dir: string, style: string, photo: string): { kind: string; job: unknown }[] {
  const valid: Record<string, Record<string, unknown>> = {
    stylize: { type: 'stylize', inputs: [photo], style, options: {} },
    preview: { type: 'preview', image: { path: photo }, style, maxSide: 32, options: {} },
    train: {
      type: 'train',
      options: {
        styleImage: photo,
        dataDir: dir,
        output: path.join(dir, 'ck'),
        name: 'x',
        preset: 'quick',
        vggPath: path.join(dir, 'no-vgg'),
        overrides: { iterations: 1 },
      },
    },
    resume: { type: 'resume', options: { checkpoint: style, vggPath: path.join(dir, 'no-vgg'), iterations: 5 } },
    import: { type: 'import', source: style, target: path.join(dir, 'imported') },
    exportOnnx: { type: 'exportOnnx', style, target: path.join(dir, 'out.onnx') },
    optimize: { type: 'optimize', options: { image: photo, styleImage: photo, vggPath: path.join(dir, 'no-vgg') } },
    downloadPretrained: { type: 'downloadPretrained', id: 'nope', target: path.join(dir, 'p') },
  };
  const values: [string, unknown][] = [
    ['missing', undefined],
    ['null', null],
    ['number', 5],
    ['string', 'x'],
    ['array', [1]],
    ['object', {}],
    ['bool', true],
    ['nan', NaN],
  ];
  const out: { kind: string; job: unknown }[] = [];
  const set = (o: Record<string, unknown>, p: string[], v: unknown): Record<string, unknown> => {
    const copy = structuredClone(o);
    let t = copy;
    for (const k of p.slice(0, -1)) t = t[k] as Record<string, unknown>;
    if (v === undefined) delete t[p[p.length - 1]];
    else t[p[p.length - 1]] = v;
    return copy;
  };
  const fields: [string, string[]][] = [
    ['stylize', ['inputs']],
    ['stylize', ['inputs', '0']],
    ['stylize', ['style']],
    ['stylize', ['options']],
    ['stylize', ['options', 'scale']],
    ['stylize', ['options', 'format']],
    ['preview', ['image']],
    ['preview', ['image', 'path']],
    ['preview', ['maxSide']],
    ['train', ['options']],
    ['train', ['options', 'preset']],
    ['train', ['options', 'overrides']],
    ['train', ['options', 'overrides', 'imageSize']],
    ['resume', ['options']],
    ['resume', ['options', 'checkpoint']],
    ['resume', ['options', 'iterations']],
    ['import', ['source']],
    ['import', ['target']],
    ['exportOnnx', ['target']],
    ['optimize', ['options']],
    ['optimize', ['options', 'styleLayers']],
    ['downloadPretrained', ['id']],
  ];
  for (const [type, p] of fields)
    for (const [vk, v] of values) out.push({ kind: `job/${type}.${p.join('.')}=${vk}`, job: set(valid[type], p, v) });
  for (const t of ['nope', '', 'constructor', '__proto__', 'toString'])
    out.push({ kind: 'job/unknown-type', job: { type: t } });
  out.push({
    kind: 'job/preview-bytes-not-bytes',
    job: { type: 'preview', image: { bytes: 'abc' }, style, maxSide: 32, options: {} },
  });
  return out;
}

export const family: Family = {
  name: 'worker',
  async build(env) {
    const style = await writeTinyStyle(path.join(env.dir, 'style'));
    const cacheDir = path.join(env.dir, 'cache');
    const settings: EngineSettings = {
      trainingBackend: 'cpu',
      stylizeRuntime: 'onnx',
      threads: 1,
      cacheDir,
      extraModuleRoots: [],
      maxInputPixels: FUZZ_MAX_PIXELS,
    };
    const client = new EngineClient({
      workerPath: path.join(REPO_ROOT, 'dist', 'worker.js'),
      settings: () => settings,
    });
    const photoBytes = fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'workspace', 'gradient.png'));
    const cases = await imageCases();
    const rng = new Rng(seedOf('worker'));
    // A spread of the image cases (every special, a sample of the mutations) as stylize jobs…
    const picked = cases.filter((c, i) => !c.kind.includes('/') || c.kind.endsWith('/valid') || i % 7 === 0);
    // …and mutated bytes as previews (bytes travel to the worker like a dropped file).
    const bytesCases = cases.filter((_, i) => i % 17 === 3);
    // Warm up: the first job starts the worker and exports the style to ONNX.
    const warm = path.join(env.dir, 'warm.png');
    fs.writeFileSync(warm, photoBytes);
    await client.request({ type: 'stylize', inputs: [warm], style, options: {} });
    fs.rmSync(warm);
    for (const f of fs.readdirSync(env.dir)) if (f.startsWith('warm.')) fs.rmSync(path.join(env.dir, f));
    let thread = client.workerThreadId;
    const request = async (job: JobRequest, dir: string): Promise<RunResult> => {
      try {
        const r = await client.request(job);
        if (job.type === 'stylize') {
          const s = r as StylizeResult;
          return {
            note: checkErrorInfos(s.failures.map((f) => f.error)) ?? 'ok',
            outputs: s.outputs.map((o) => path.relative(dir, o.output)),
          };
        }
        return { note: 'ok' };
      } catch (e) {
        if (e instanceof StyleTransferError && FORESEEN.has(e.code)) return { note: e.code };
        throw e;
      } finally {
        if (client.workerThreadId !== thread) {
          const was = thread;
          thread = client.workerThreadId;
          throw new CrashError(`the worker was replaced (thread ${was} → ${thread})`);
        }
      }
    };
    const inputs: FuzzInput[] = [];
    picked.forEach((c, i) => {
      let file = '';
      inputs.push({
        kind: `stylize/${c.kind}`,
        async prepare(ctx) {
          file = await c.make(ctx.dir);
        },
        run: (ctx) => request({ type: 'stylize', inputs: [file], style, options: optionsFor(i, ctx.dir) }, ctx.dir),
      });
    });
    for (const c of bytesCases) {
      let bytes = new Uint8Array();
      inputs.push({
        kind: `preview-bytes/${c.kind}`,
        async prepare(ctx) {
          const f = await c.make(ctx.dir);
          bytes = new Uint8Array(fs.existsSync(f) && fs.statSync(f).isFile() ? fs.readFileSync(f) : Buffer.alloc(0));
          fs.rmSync(f, { recursive: true, force: true });
        },
        run: (ctx) =>
          request(
            { type: 'preview', image: { bytes, name: c.fileName }, style, maxSide: rng.pick([0, 16, 64]), options: {} },
            ctx.dir,
          ),
      });
    }
    for (const h of hostileJobs('/nonexistent-dir-for-fuzz', style, '/nonexistent-dir-for-fuzz/p.png')) {
      inputs.push({
        kind: h.kind,
        async run(ctx) {
          // Paths inside the job point into this input's folder.
          const job = JSON.parse(
            JSON.stringify(h.job, (_k, v) =>
              typeof v === 'string' ? v.replace('/nonexistent-dir-for-fuzz', ctx.dir) : v,
            ),
          );
          if (h.kind === 'job/preview-bytes-not-bytes') job.image.bytes = 'abc';
          return request(job as JobRequest, ctx.dir);
        },
      });
    }
    return {
      inputs,
      writeRoots: [cacheDir, style],
      async dispose() {
        await client.dispose();
      },
    };
  },
};
