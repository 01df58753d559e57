// Runs the `fst` CLI in-process and captures what it prints.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/fst';

// `fst` keeps its ONNX cache in $XDG_CACHE_HOME/fast-style-transfer: tests use a folder of their own, not the user's.
process.env.XDG_CACHE_HOME ??= fs.mkdtempSync(path.join(os.tmpdir(), 'fst-test-xdg-'));

export async function runFst(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => {
    out.push(a.join(' '));
  };
  console.error = (...a: unknown[]) => {
    err.push(a.join(' '));
  };
  try {
    const code = await main(args);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}
