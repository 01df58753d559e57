#!/usr/bin/env node
// Makes a bundled style (styles/<folder>) from a training run: `fst export --float16` (weights
// as float16, no optimizer state, no paths of this machine, the run's thumbnail), then records
// how it was trained in style.json's provenance.training (issue 12: the command, the painting
// and the training minutes). An existing bundled style is replaced only with --replace, and only
// after the new one is complete (the old one is renamed away, then removed).
//
//   node scripts/bundle-style.mjs --run <run dir> --out styles/udnie --name Udnie \
//     --painting "Udnie (udnie.jpg, public domain)" --command "fst train …" \
//     --wall 12.5 --cpu 20.1 --machine "AMD EPYC, 2 cores" [--replace]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: v } = parseArgs({
  options: {
    run: { type: 'string' },
    out: { type: 'string' },
    name: { type: 'string' },
    painting: { type: 'string' },
    command: { type: 'string' },
    wall: { type: 'string' },
    cpu: { type: 'string' },
    machine: { type: 'string' },
    replace: { type: 'boolean', default: false },
  },
});
for (const k of ['run', 'out', 'name', 'painting', 'command', 'wall', 'cpu', 'machine']) {
  if (!v[k]) {
    console.error(`bundle-style: --${k} is required`);
    process.exit(2);
  }
}
const minutes = (k) => {
  const n = Number(v[k]);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`bundle-style: --${k} must be minutes above 0, got ${v[k]}`);
    process.exit(2);
  }
  return n;
};
const wallMinutes = minutes('wall');
const cpuMinutes = minutes('cpu');
const out = path.resolve(v.out);
if (existsSync(out) && !v.replace) {
  console.error(`bundle-style: ${v.out} exists (add --replace to replace it)`);
  process.exit(2);
}

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const staging = path.join(mkdtempSync(path.join(path.dirname(out), '.bundle-')), 'style');
try {
  execFileSync(
    process.execPath,
    [
      path.join(root, 'bin/fst.js'),
      'export',
      v.run,
      '-o',
      staging,
      '--float16',
      '--name',
      v.name,
      '--note',
      `trained with: ${v.command} (then: fst export --float16)`,
    ],
    { stdio: 'inherit' },
  );
  const file = path.join(staging, 'style.json');
  const info = JSON.parse(readFileSync(file, 'utf8'));
  info.provenance = {
    ...info.provenance,
    training: { command: v.command, painting: v.painting, wallMinutes, cpuMinutes, machine: v.machine },
  };
  writeFileSync(file, JSON.stringify(info, null, 1) + '\n');
  if (existsSync(out)) {
    const old = `${staging}.old`;
    renameSync(out, old);
    renameSync(staging, out);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(staging, out);
  }
  console.log(`bundled ${v.name} in ${v.out}`);
} finally {
  rmSync(path.dirname(staging), { recursive: true, force: true });
}
