// Bundles the integration tests into one CommonJS file for the extension host:
// test/integration/index.ts (mocha set-up) + every test/integration/suite/**/*.test.ts, with
// mocha inside the bundle and `vscode` external. The suites are pulled in through the virtual
// module `fst:integration-suites`, whose loadSuites() requires them one by one AFTER mocha has
// put suite()/test() on the global object (a plain import would run them too early).
//
// The bundle carries an inline source map; index.ts maps failure stacks through it (the
// extension host replaces Error.prepareStackTrace, so Node's own source-map support is inert).
//
// usage: node test/integration/build.mjs            -> out/test/integration/index.js
//        import { buildIntegrationTests } from './build.mjs'
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');
export const SUITE_DIR = path.join(HERE, 'suite');
export const OUT_FILE = path.join(REPO_ROOT, 'out', 'test', 'integration', 'index.js');

export function findSuiteFiles(dir = SUITE_DIR) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .sort();
}

const suitesPlugin = (files) => ({
  name: 'integration-suites',
  setup(build) {
    build.onResolve({ filter: /^fst:integration-suites$/ }, () => ({ path: 'suites', namespace: 'fst-suites' }));
    build.onLoad({ filter: /.*/, namespace: 'fst-suites' }, () => ({
      resolveDir: SUITE_DIR,
      loader: 'js',
      contents: [
        `export const suiteFiles = ${JSON.stringify(files.map((f) => path.relative(REPO_ROOT, f)))};`,
        'export function loadSuites() {',
        ...files.map((f) => `  require(${JSON.stringify(f)});`),
        '}',
      ].join('\n'),
    }));
  },
});

export async function buildIntegrationTests({ outfile = OUT_FILE } = {}) {
  const files = findSuiteFiles();
  if (files.length === 0) throw new Error(`no *.test.ts files in ${SUITE_DIR}`);
  await esbuild.build({
    entryPoints: [path.join(HERE, 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    external: ['vscode'],
    logLevel: 'warning',
    // mocha's lazily loaded Node-only parts (parallel mode, ESM file loading, the CLI) are
    // never reached from a bundle that defines its suites itself
    logOverride: {
      'unsupported-dynamic-import': 'silent',
      'unsupported-require-call': 'silent',
      'require-resolve-not-external': 'silent',
    },
    plugins: [suitesPlugin(files)],
  });
  return { outfile, files };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outfile, files } = await buildIntegrationTests();
  console.log(`bundled ${files.length} suite file(s) into ${path.relative(REPO_ROOT, outfile)}`);
}
