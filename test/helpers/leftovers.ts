// State checks after a fault: no work-in-progress files anywhere under the folders a job used,
// and the user's originals byte-identical. Shared by the plain-Node fault tests and the
// integration tests (no vscode import).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Names the atomic writers use while working: temp files, checkpoint swaps, partial downloads. */
export const WORK_IN_PROGRESS = /(\.tmp$|\.writing-|\.partial$|\.previous$|\.old$)/;

/** Every path under `dirs` whose name says "work in progress" (minus `allow`ed ones, e.g. a download's resume point). */
export function leftovers(dirs: readonly string[], allow: readonly RegExp[] = []): string[] {
  const out: string[] = [];
  for (const d of dirs)
    walkTree(d, (e, p) => {
      if (WORK_IN_PROGRESS.test(e.name) && !allow.some((a) => a.test(p))) out.push(p);
      return e.isDirectory() && !e.isSymbolicLink();
    });
  return out;
}

/**
 * Calls `visit` for each entry under `dir` with its full path and its path relative to `dir` ('/'-separated),
 * and descends into the entries for which it returns true. A folder that cannot be read is passed over.
 */
export function walkTree(dir: string, visit: (e: fs.Dirent, full: string, rel: string) => boolean): void {
  const walk = (d: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (visit(e, full, r)) walk(full, r);
    }
  };
  walk(dir, '');
}

/** SHA-256 of every file under `dir` (relative path → hash), to show originals are unchanged. */
export function hashTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p, r);
      else if (e.isFile()) out.set(r, crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex'));
    }
  };
  if (fs.statSync(dir).isDirectory()) walk(dir, '');
  else out.set(path.basename(dir), crypto.createHash('sha256').update(fs.readFileSync(dir)).digest('hex'));
  return out;
}

/** The entries of `before` that changed or vanished in `after` (new files are not "changes"). */
export function changedOriginals(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...before].filter(([k, v]) => after.get(k) !== v).map(([k]) => k);
}
