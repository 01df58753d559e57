// `fst evaluate`: how good is a style? Stylizes held-out photos and prints the style distance
// to the painting, the content distance to each photo and the share of blown-out blobs, per
// photo and as a mean; `--compare` puts a second style beside it, `--sheet` writes a contact
// sheet to look at. The figures are defined in src/model/metrics.ts and src/model/blobs.ts.
import os from 'node:os';
import path from 'node:path';
import { optionSpecs } from '../args';
import { choice, integerOpt, required, str, type Command } from '../options';
import { createStylizeEngine } from '../../engine/stylize/engines';
import { EVALUATE_DEFAULTS, evaluateStyles } from '../../engine/evaluateJob';
import {
  DEFAULT_MAX_INPUT_PIXELS,
  STYLIZE_RUNTIMES,
  TFJS_BACKENDS,
  type EvaluateFigures,
  type EvaluateResult,
  type StylizeRuntime,
} from '../../protocol/jobs';

const fmt = {
  styleDistance: (x: number) => x.toFixed(3),
  contentDistance: (x: number) => x.toFixed(3),
  blobShare: (x: number) => `${(100 * x).toFixed(2)} %`,
};
const METRICS: readonly [keyof EvaluateFigures, string][] = [
  ['styleDistance', 'style distance'],
  ['contentDistance', 'content distance'],
  ['blobShare', 'blob share'],
];

/** Text table: a row per photo and the mean; with several styles each figure has a column per style. */
export function formatEvaluation(r: EvaluateResult): string[] {
  const names = r.models.map((m) => (m.name.length > 14 ? `${m.name.slice(0, 13)}…` : m.name));
  const col = Math.max(9, ...names.map((n) => n.length + 2));
  const photoNames = [...r.models[0].photos.map((p) => path.basename(p.photo)), 'mean'];
  const first = Math.max(...photoNames.map((n) => n.length)) + 2;
  // Each figure is a group of one column per style, at least as wide as its heading.
  const groups = METRICS.map(([, label]) => Math.max(label.length + 2, col * r.models.length + 2));
  const lines = [`painting ${path.basename(r.painting)}; ${r.vgg}`];
  lines.push((' '.repeat(first) + METRICS.map(([, label], g) => label.padEnd(groups[g])).join('')).trimEnd());
  if (r.models.length > 1)
    lines.push(
      (
        ' '.repeat(first) +
        METRICS.map((_, g) =>
          names
            .map((n) => n.padEnd(col))
            .join('')
            .padEnd(groups[g]),
        ).join('')
      ).trimEnd(),
    );
  const row = (label: string, figs: EvaluateFigures[]) =>
    (
      label.padEnd(first) +
      METRICS.map(([k], g) =>
        figs
          .map((f) => fmt[k](f[k]).padEnd(col))
          .join('')
          .padEnd(groups[g]),
      ).join('')
    ).trimEnd();
  r.models[0].photos.forEach((_, i) =>
    lines.push(
      row(
        photoNames[i],
        r.models.map((m) => m.photos[i]),
      ),
    ),
  );
  lines.push(
    row(
      'mean',
      r.models.map((m) => m.mean),
    ),
  );
  return lines;
}

export const evaluateCommand: Command = {
  name: 'evaluate',
  usage:
    '-m <checkpoint> --style <painting> --vgg <weights> [--compare <checkpoint>] [--sheet <file.png>] [--json] [photo|folder...]',
  summary:
    'Measure a style on held-out photos: style distance to the painting, content distance to each photo, share of blown-out blobs.',
  options: optionSpecs(
    ['model', 'style', 'vgg', 'compare', 'sheet', 'json', 'max-side', 'runtime', 'backend'],
    ['json'],
  ),
  help: {
    model: 'the style to measure: a checkpoint folder or an ml5 model folder',
    style: 'the painting it was trained on (its Grams are measured at 512 px on the long side)',
    vgg: 'VGG19 weights: tfjs layers-model folder or imagenet-vgg-verydeep-19.mat (blocks 1–3 suffice)',
    compare: 'a second style to measure on the same photos, printed beside the first',
    sheet:
      'also write a contact sheet (PNG: photo | stylized per row, the painting in the corner); never overwritten. Default: no sheet',
    json: 'print the figures as JSON (shares as fractions 0–1)',
    'max-side': `shrink photos larger than this on their long side first (default ${EVALUATE_DEFAULTS.maxSide})`,
    runtime: 'stylize with auto (ONNX Runtime, else tfjs), onnx or tfjs',
    backend: `tfjs backend for VGG: ${TFJS_BACKENDS.join(', ')}`,
  },
  examples: [
    'fst evaluate -m styles/starry-night --style starry_night.jpg --vgg vgg19/',
    'fst evaluate -m styles/udnie-quick --compare styles/udnie --style udnie.jpg --vgg vgg19/ --sheet udnie.png photos/',
  ],
  async run(v, pos) {
    const model = required(v, 'model');
    const painting = required(v, 'style');
    const vggPath = required(v, 'vgg');
    const maxSide = integerOpt(v, 'max-side', 16, 8192);
    const runtime = choice<StylizeRuntime>(v, 'runtime', STYLIZE_RUNTIMES) ?? 'auto';
    const backend = choice(v, 'backend', TFJS_BACKENDS) ?? 'auto';
    const styles = [model, ...(str(v, 'compare') ? [str(v, 'compare')!] : [])].map((s) => path.resolve(s));
    const engine = await createStylizeEngine({ runtime, tfjsBackend: backend });
    try {
      const result = await evaluateStyles(
        {
          styles,
          painting: path.resolve(painting),
          vggPath: path.resolve(vggPath),
          photos: pos.map((p) => path.resolve(p)),
          sheet: str(v, 'sheet') ? path.resolve(str(v, 'sheet')!) : undefined,
          maxSide,
        },
        engine,
        {
          trainingBackend: backend,
          stylizeRuntime: runtime,
          threads: 0,
          cacheDir: path.join(os.tmpdir(), 'fst-cache'),
          extraModuleRoots: [],
          maxInputPixels: DEFAULT_MAX_INPUT_PIXELS,
        },
        {
          progress: (p) => {
            if (p.type === 'evaluate' && p.photo && !v.json)
              console.error(`${p.done + 1}/${p.total} ${path.basename(p.photo)}`);
          },
        },
      );
      if (v.json) {
        console.log(JSON.stringify(result, null, 2));
      } else {
        for (const line of formatEvaluation(result)) console.log(line);
        console.log(
          result.sheet
            ? `sheet ${result.sheet.path} (${result.sheet.width}×${result.sheet.height})`
            : '(add --sheet <file.png> to see the results side by side)',
        );
      }
      return 0;
    } finally {
      engine.dispose();
    }
  },
};
