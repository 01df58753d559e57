#!/usr/bin/env node
// The `fst` command: the engine without VS Code. Built by `npm run build` into dist/cli.js.
const path = require('node:path');
const fs = require('node:fs');
const { spawn } = require('node:child_process');

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error('fst: dist/cli.js is missing; run `npm run build` first');
  process.exit(1);
}

// Commands whose first image fills hundreds of megabytes of ONNX Runtime's arena. Not train or
// optimize: their Ctrl+C / SIGTERM handling (stop after this step, save) stays in one process.
const IMAGE_COMMANDS = new Set(['stylize', 'evaluate']);
const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1';

/**
 * On Linux with glibc, an image command runs in a child process started with glibc's malloc
 * asked for transparent huge pages (GLIBC_TUNABLES is read only when a process starts). The
 * first 1024² image otherwise takes ~110 thousand page faults filling ONNX Runtime's arena
 * (0.7 s of system time here) and runs 1.3-1.4× slower than the next; with huge pages it takes
 * ~18 thousand and runs as fast as a warm one. The extra Node start costs ~0.1 s.
 */
function wantsHugePages(argv) {
  if (process.platform !== 'linux' || !IMAGE_COMMANDS.has(argv[0])) return false;
  if ((process.env.GLIBC_TUNABLES ?? '').includes('glibc.malloc.hugetlb')) return false;
  // Under a debugger, one process: the child would not get the inspector's port.
  if (process.execArgv.some((a) => a.startsWith('--inspect'))) return false;
  return Boolean(process.report?.getReport?.().header?.glibcVersionRuntime);
}

const argv = process.argv.slice(2);
if (wantsHugePages(argv)) {
  const tunables = [process.env.GLIBC_TUNABLES, HUGE_PAGES_TUNABLE].filter(Boolean).join(':');
  const child = spawn(process.execPath, [...process.execArgv, __filename, ...argv], {
    stdio: 'inherit',
    env: { ...process.env, GLIBC_TUNABLES: tunables },
  });
  // Ctrl+C reaches the whole process group, the child included, which handles it; passing it on
  // as well would make it two. A SIGTERM or SIGHUP sent to this process alone is passed on.
  process.on('SIGINT', () => undefined);
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (e) => {
    console.error(`fst: cannot start ${process.execPath}: ${e.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
} else {
  require(cli).runCli(argv);
}
