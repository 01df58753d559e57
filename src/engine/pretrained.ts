// "Download Pretrained Styles…": public transform networks in the ml5 / deeplearn.js format,
// fetched from their original location, every file checked against the SHA-256 recorded
// here, then imported into a checkpoint. Nothing is shipped with the extension.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { downloadFile } from '../io/download';
import { StyleTransferError } from '../protocol/errors';
import type { PretrainedStyleInfo } from '../protocol/jobs';
import catalogue from './pretrainedStyles.json';
import type { JobContext } from './stylize/stylizeJob';

interface Entry {
  id: string;
  title: string;
  license: string;
  description: string;
  files: Record<string, string>;
}

export const PRETRAINED_SOURCE: string = catalogue.source;
const ENTRIES: readonly Entry[] = catalogue.styles;

export function listPretrainedStyles(baseUrl = PRETRAINED_SOURCE): PretrainedStyleInfo[] {
  return ENTRIES.map((e) => ({
    id: e.id,
    title: e.title,
    license: e.license,
    description: e.description,
    url: `${baseUrl}/${e.id}`,
  }));
}

/** Downloads pretrained style `id` into a temporary folder (verified) and returns it; the caller imports and removes it. */
export async function downloadPretrained(
  id: string,
  ctx: JobContext,
  baseUrl = PRETRAINED_SOURCE,
): Promise<{ dir: string; entry: PretrainedStyleInfo }> {
  const entry = ENTRIES.find((e) => e.id === id);
  if (!entry)
    throw new StyleTransferError(
      'bad-input',
      `unknown pretrained style "${id}" (known: ${ENTRIES.map((e) => e.id).join(', ')})`,
    );
  const dir = path.join(os.tmpdir(), `fst-pretrained-${id}-${crypto.randomBytes(4).toString('hex')}`);
  const files = Object.entries(entry.files);
  try {
    for (const [i, [file, sha256]] of files.entries()) {
      ctx.progress?.({ type: 'download', bytes: i, total: files.length });
      await downloadFile(`${baseUrl}/${entry.id}/${file}`, path.join(dir, file), { sha256, signal: ctx.signal });
    }
    ctx.progress?.({ type: 'download', bytes: files.length, total: files.length });
  } catch (e) {
    await fs.rm(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, entry: listPretrainedStyles(baseUrl).find((e) => e.id === id)! };
}
