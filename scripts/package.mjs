// Builds platform-specific VSIXes (issue 18). Each target gets a staging copy of what the
// package ships, with production node_modules installed by npm *for that target* (--os, --cpu,
// --libc), so sharp's @img/sharp-<os>-<arch> packages are the target's own; ONNX Runtime ships
// every platform in one npm package, so the other platforms' folders are deleted before vsce
// packs the folder.
//
//   node scripts/package.mjs                     the host's target (e.g. linux-x64)
//   node scripts/package.mjs --target win32-x64  one target (repeatable)
//   node scripts/package.mjs --all               all six
//   options: --skip-build (reuse dist/), --keep-staging (leave .package-staging/<t>)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAGING = path.join(ROOT, '.package-staging');

/** VS Code's target names → npm's platform names (Node's process.platform / process.arch). */
export const TARGETS = {
  'win32-x64': { os: 'win32', cpu: 'x64' },
  'win32-arm64': { os: 'win32', cpu: 'arm64' },
  'darwin-x64': { os: 'darwin', cpu: 'x64' },
  'darwin-arm64': { os: 'darwin', cpu: 'arm64' },
  'linux-x64': { os: 'linux', cpu: 'x64', libc: 'glibc' },
  'linux-arm64': { os: 'linux', cpu: 'arm64', libc: 'glibc' },
};

export const vsixPath = (target) => path.join(ROOT, `fast-style-transfer-${target}.vsix`);

// What the package ships besides node_modules (.vscodeignore still filters inside these).
const SHIPPED = [
  'package.json',
  'package-lock.json',
  '.npmrc',
  '.vscodeignore',
  'README.md',
  'LICENSE',
  'CHANGELOG.md',
  'dist',
  'bin',
  'media',
  'styles',
];

function run(cmd, args, cwd) {
  // npm is a .cmd script on Windows, which Node runs only through a shell.
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], shell: cmd.endsWith('.cmd') });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

/** The production bundles, built once for every target (they are platform-neutral). */
function buildBundles() {
  run(process.execPath, ['esbuild.mjs', '--production'], ROOT);
}

/** A fresh staging folder holding the shipped files. */
function stage(target) {
  const dir = path.join(STAGING, target);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const f of SHIPPED) fs.cpSync(path.join(ROOT, f), path.join(dir, f), { recursive: true });
  return dir;
}

/**
 * Production dependencies exactly as the lockfile pins them, with the optional packages npm picks
 * for the target's os/cpu/libc. Install scripts are skipped: they would run for this machine.
 */
function installFor(target, dir) {
  const { os, cpu, libc } = TARGETS[target];
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const args = [
    'ci',
    '--omit=dev',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    `--os=${os}`,
    `--cpu=${cpu}`,
  ];
  if (libc) args.push(`--libc=${libc}`);
  run(npm, args, dir);
}

/**
 * onnxruntime-node holds bin/napi-v<N>/<os>/<arch> for every platform: keep only the target's. On
 * macOS the npm tarball has the library twice (a symlink flattened to a copy): the binding loads
 * @rpath/libonnxruntime.1.dylib, so the versioned copy goes. Returns the kept native folder(s).
 */
function pruneOnnxRuntime(target, dir) {
  const { os, cpu } = TARGETS[target];
  const ort = path.join(dir, 'node_modules', 'onnxruntime-node');
  fs.rmSync(path.join(ort, 'script'), { recursive: true, force: true });
  const kept = [];
  for (const napi of fs.readdirSync(path.join(ort, 'bin'))) {
    for (const o of fs.readdirSync(path.join(ort, 'bin', napi))) {
      for (const a of fs.readdirSync(path.join(ort, 'bin', napi, o))) {
        const d = path.join(ort, 'bin', napi, o, a);
        if (o !== os || a !== cpu) fs.rmSync(d, { recursive: true });
        else kept.push(d);
      }
      if (fs.readdirSync(path.join(ort, 'bin', napi, o)).length === 0) fs.rmdirSync(path.join(ort, 'bin', napi, o));
    }
  }
  for (const d of kept.filter(() => os === 'darwin')) {
    for (const f of fs.readdirSync(d)) {
      if (/^libonnxruntime\.\d+\.\d+\.\d+\.dylib$/.test(f) && fs.existsSync(path.join(d, 'libonnxruntime.1.dylib')))
        fs.rmSync(path.join(d, f));
    }
  }
  // ONNX Runtime 1.30 publishes no darwin-x64 binary: that package stylizes with TensorFlow.js.
  if (kept.length === 0)
    console.log(
      `package: onnxruntime-node ${readVersion(ort)} has no ${os}/${cpu} binary; this package has no ONNX Runtime`,
    );
  return kept;
}

function readVersion(pkgDir) {
  return JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
}

/** vsce packs the staging folder, its node_modules included, for the target. */
function vscePackage(target, dir) {
  const vsce = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  fs.rmSync(vsixPath(target), { force: true });
  run(process.execPath, [vsce, 'package', '--target', target, '--out', vsixPath(target)], dir);
}

/** One target, staging to VSIX; returns the VSIX path. */
export function packageTarget(target, { keepStaging = false } = {}) {
  if (!TARGETS[target]) throw new Error(`unknown target ${target} (one of ${Object.keys(TARGETS).join(', ')})`);
  const t0 = Date.now();
  const dir = stage(target);
  installFor(target, dir);
  pruneOnnxRuntime(target, dir);
  vscePackage(target, dir);
  if (!keepStaging) fs.rmSync(dir, { recursive: true, force: true });
  const mb = (fs.statSync(vsixPath(target)).size / 1e6).toFixed(1);
  console.log(`package: ${path.basename(vsixPath(target))} ${mb} MB in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return vsixPath(target);
}

function parseArgs(argv) {
  const targets = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--target') targets.push(argv[++i]);
    else if (argv[i] === '--all') targets.push(...Object.keys(TARGETS));
    else if (!['--skip-build', '--keep-staging'].includes(argv[i])) throw new Error(`unknown argument ${argv[i]}`);
  }
  if (targets.length === 0) targets.push(`${process.platform}-${process.arch}`);
  for (const t of targets)
    if (!TARGETS[t]) throw new Error(`unknown target ${t} (one of ${Object.keys(TARGETS).join(', ')})`);
  return {
    targets: [...new Set(targets)],
    skipBuild: argv.includes('--skip-build'),
    keepStaging: argv.includes('--keep-staging'),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    const { targets, skipBuild, keepStaging } = parseArgs(process.argv.slice(2));
    if (!skipBuild) buildBundles();
    for (const t of targets) packageTarget(t, { keepStaging });
    if (!keepStaging) fs.rmSync(STAGING, { recursive: true, force: true });
  } catch (e) {
    console.error(`package: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  }
}
