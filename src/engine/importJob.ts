// The import job: a checkpoint folder or an ml5 / deeplearn.js model folder becomes a new
// checkpoint folder (used by the worker's import and downloadPretrained jobs and `fst import`).
import path from 'node:path';
import { THUMBNAIL_FILE, isCheckpointFolder, readCheckpoint, writeCheckpoint } from '../io/checkpoint';
import { MAX_THUMBNAIL_BYTES, readFileInFolder } from '../io/fileAccess';
import { readMl5Folder } from '../io/ml5Import';
import { refuseExisting } from '../io/output';
import type { JobResults } from '../protocol/jobs';

const NEW_FOLDER = 'choose a new folder';

/** A style folder's thumbnail as extra checkpoint files, or none when it has no usable one. */
export async function thumbnailOf(dir: string): Promise<Record<string, Uint8Array>> {
  try {
    // Through the file-access layer: an imported folder's thumbnail may be a link out of it, or a FIFO.
    return { [THUMBNAIL_FILE]: await readFileInFolder(dir, THUMBNAIL_FILE, MAX_THUMBNAIL_BYTES) };
  } catch {
    return {};
  }
}

/** Imports a checkpoint or ml5 folder `source` as the new checkpoint `target`. */
export async function importStyle(
  source: string,
  target: string,
  name?: string,
  origin = path.resolve(source),
): Promise<JobResults['import']> {
  await refuseExisting(target, NEW_FOLDER);
  if (await isCheckpointFolder(source)) {
    const ck = await readCheckpoint(source);
    const finalName = name ?? ck.info.name;
    const now = new Date().toISOString();
    await writeCheckpoint(
      target,
      { ...ck.info, name: finalName, source: { kind: 'imported', from: origin, format: 'checkpoint' }, updatedAt: now },
      ck.weights,
      {
        extraFiles: await thumbnailOf(source),
      },
    );
    return { checkpoint: target, name: finalName };
  }
  return writeMl5(source, target, name, origin);
}

/** Imports an ml5 / deeplearn.js folder only (`fst import`: a checkpoint source is an ml5 error there). */
export async function importMl5Style(source: string, target: string, name?: string): Promise<JobResults['import']> {
  await refuseExisting(target, NEW_FOLDER);
  return writeMl5(source, target, name, path.resolve(source));
}

async function writeMl5(
  source: string,
  target: string,
  name: string | undefined,
  origin: string,
): Promise<JobResults['import']> {
  const { arch, weights } = await readMl5Folder(source);
  const now = new Date().toISOString();
  const finalName = name ?? path.basename(path.resolve(source));
  await writeCheckpoint(
    target,
    {
      name: finalName,
      architecture: arch,
      source: { kind: 'imported', from: origin, format: 'ml5' },
      iteration: 0,
      createdAt: now,
      updatedAt: now,
    },
    weights,
  );
  return { checkpoint: target, name: finalName };
}
