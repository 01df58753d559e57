// Builds the bundles of DESIGN §3: extension host, worker, CLI (Node, CommonJS), TensorFlow.js
// (dist/tfjs.js, loaded on first use) and the gallery webview (browser). Native and
// lazily-installed packages stay external; the tfjs WebAssembly binaries are copied beside the
// bundles so a packaged extension needs no tfjs node_modules at run time.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const outdir = 'dist';

// Loaded from node_modules at run time: native binaries, or optional GPU packages a user
// installs later (Set Up GPU Acceleration…).
const nodeExternals = [
  'vscode',
  'sharp',
  'onnxruntime-node',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  'webgpu',
];

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  legalComments: 'linked',
};

const nodeBuild = {
  ...common,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: nodeExternals,
  // tfjs-core's package.json "module" entry is ESM; prefer it so tree-shaking and the
  // gradient registrations share one copy of the library.
  mainFields: ['module', 'main'],
};

// TensorFlow.js is a bundle of its own, dist/tfjs.js (src/model/tfjsLibrary.ts), which the
// other node bundles load when they first use tfjs (src/model/tf.ts): a process that only
// stylizes on ONNX Runtime then never compiles its 1.7 MB.
const TFJS_LIBRARY = /^\.\/tfjsLibrary$/;
const tfjsAsSiblingBundle = {
  name: 'tfjs-as-sibling-bundle',
  setup(build) {
    build.onResolve({ filter: TFJS_LIBRARY }, (args) =>
      args.kind === 'require-call' ? { path: './tfjs.js', external: true } : undefined,
    );
  },
};
const appBuild = { ...nodeBuild, plugins: [tfjsAsSiblingBundle] };

const builds = [
  { ...appBuild, entryPoints: { extension: 'src/extension.ts' }, outdir },
  { ...appBuild, entryPoints: { worker: 'src/engine/worker.ts' }, outdir },
  { ...appBuild, entryPoints: { cli: 'src/cli/fst.ts' }, outdir },
  { ...nodeBuild, entryPoints: { tfjs: 'src/model/tfjsLibrary.ts' }, outdir },
  {
    ...common,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    entryPoints: { gallery: 'webview/gallery/main.ts' },
    outdir: path.join(outdir, 'webview'),
  },
].filter((b) => Object.values(b.entryPoints).every((f) => fs.existsSync(f)));

function copyAssets() {
  const wasmDir = path.join(outdir, 'wasm');
  fs.mkdirSync(wasmDir, { recursive: true });
  const src = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
  for (const f of fs.readdirSync(src).filter((f) => f.endsWith('.wasm')))
    fs.copyFileSync(path.join(src, f), path.join(wasmDir, f));
  // The threaded build's loader and pthread worker script (src/engine/tfjs/wasmKernels/threadedBackend.ts).
  for (const f of ['tfjs-backend-wasm-threaded-simd.js', 'tfjs-backend-wasm-threaded-simd.worker.js']) {
    fs.copyFileSync(path.join('node_modules/@tensorflow/tfjs-backend-wasm/wasm-out', f), path.join(wasmDir, f));
  }
  const codicons = 'node_modules/@vscode/codicons/dist';
  if (fs.existsSync(codicons)) {
    const dest = path.join(outdir, 'webview');
    fs.mkdirSync(dest, { recursive: true });
    for (const f of ['codicon.css', 'codicon.ttf']) fs.copyFileSync(path.join(codicons, f), path.join(dest, f));
  }
}

if (watch) {
  copyAssets();
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  fs.rmSync(outdir, { recursive: true, force: true });
  await Promise.all(builds.map((b) => esbuild.build(b)));
  copyAssets();
}
