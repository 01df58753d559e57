// The export jobs: a style as a self-contained ONNX model (the worker's exportOnnx job and
// `fst export --onnx`) or as a compact checkpoint for sharing (`fst export`).
import path from 'node:path';
import { THUMBNAIL_FILE, writeCheckpoint } from '../io/checkpoint';
import { writeFileAtomic } from '../io/output';
import { exportTransformNetToOnnx } from '../model/onnx/onnxExport';
import { thumbnailOf } from './importJob';
import type { LoadedStyle } from './styles';

/** Writes `style` as an ONNX model that pads and crops inside the graph, for use outside this tool. */
export async function exportOnnx(
  style: LoadedStyle,
  target: string,
  opts: { overwrite: boolean },
): Promise<{ path: string }> {
  const bytes = exportTransformNetToOnnx(style.arch, style.weights, {
    selfContained: true,
    weightsSha256: style.hash,
    graphName: style.name,
    metadata: { 'fst.style_name': style.name },
  });
  await writeFileAtomic(target, bytes, { overwrite: opts.overwrite });
  return { path: target };
}

export interface CheckpointExportOptions {
  /** Display name of the exported style (default: the style's). */
  readonly name?: string;
  /** A note recorded in style.json provenance. */
  readonly note?: string;
  readonly precision: 'float32' | 'float16';
}

/** Writes `style` as a new checkpoint `target` without optimizer state or this machine's paths. */
export async function exportCheckpoint(style: LoadedStyle, target: string, o: CheckpointExportOptions): Promise<void> {
  const info = style.info;
  const now = new Date().toISOString();
  // Only a regular file inside the style folder: a link out of it must not be copied into the export.
  const extraFiles = await thumbnailOf(style.dir);
  // A shared style should not carry this machine's paths: keep file names only.
  const base = (p?: string) => (p ? path.basename(p) : undefined);
  const source =
    info?.source.kind === 'trained'
      ? { kind: 'trained' as const, styleImage: base(info.source.styleImage), dataset: base(info.source.dataset) }
      : info?.source;
  await writeCheckpoint(
    target,
    {
      ...(info ?? { iteration: 0, createdAt: now }),
      source: source ?? { kind: 'imported', from: path.basename(style.dir), format: 'ml5' },
      name: o.name ?? style.name,
      architecture: style.arch,
      updatedAt: now,
      ...(extraFiles[THUMBNAIL_FILE] ? { thumbnail: THUMBNAIL_FILE } : {}),
      provenance: {
        ...(info?.provenance ?? {}),
        vgg: undefined,
        exportedFrom: path.basename(style.dir),
        exportedAt: now,
        ...(o.note ? { note: o.note } : {}),
      },
    },
    style.weights,
    { precision: o.precision, extraFiles },
  );
}
