// Cheap copies of fixture folders: one master copy per family, then per input a folder of
// hard links (or copies where links are not possible) with only the mutated files rewritten.
import fs from 'node:fs';
import path from 'node:path';

export function copyTree(src: string, dest: string): void {
  fs.mkdirSync(dest, { recursive: true });
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, e.name);
    const d = path.join(dest, e.name);
    if (e.isDirectory()) copyTree(s, d);
    else {
      fs.copyFileSync(s, d);
      fs.chmodSync(d, 0o644);
    }
  }
}

/** `dest` gets a hard link (or copy) of every file in `master`; a mutation must replace a file, never write into it. */
export function linkTree(master: string, dest: string): void {
  fs.mkdirSync(dest, { recursive: true });
  for (const name of fs.readdirSync(master)) {
    const s = path.join(master, name);
    const d = path.join(dest, name);
    try {
      fs.linkSync(s, d);
    } catch {
      fs.copyFileSync(s, d);
    }
  }
}

/** Replaces `file` (possibly a hard link into the master) with new content, a folder, a link, or nothing. */
export function replaceFile(
  file: string,
  content: Buffer | string | { dir: true } | { link: string } | { remove: true },
): void {
  fs.rmSync(file, { recursive: true, force: true });
  if (typeof content === 'string' || Buffer.isBuffer(content)) fs.writeFileSync(file, content);
  else if ('dir' in content) fs.mkdirSync(file);
  else if ('link' in content) fs.symlinkSync(content.link, file);
}
