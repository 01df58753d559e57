// Integration tests in a real VS Code extension host: @vscode/test-electron's runTests with
// test/host/code-test-host.mjs as the "VS Code executable" (code-server 4.100.3 + headless
// Chromium; VS Code itself cannot be downloaded here), the repository as the extension under
// development and a fresh copy of test/fixtures/workspace as the open folder.
//
// usage: node test/integration/runTests.mjs [--grep <regexp>]
// Env: FST_TEST_GREP (same as --grep), FST_MOCHA_TIMEOUT (ms per test, default 60000),
//      EXT_TEST_TIMEOUT_MS (whole run, default 600000), FST_TEST_VERBOSE=1, FST_KEEP_RUN_DIR=1.
// Installs code-server + Chromium on first use (scripts/install-code-server.sh, cached) and builds
// the extension when its bundle is stale.
// Prints mocha's spec report and a closing "integration: N passed, N failed, N skipped" line;
// exits non-zero when a test fails, none ran, or the host failed.
import { runTests } from '@vscode/test-electron';
import fs from 'node:fs';
import path from 'node:path';
import { ensureCodeServer, copyWorkspace, createRunDir, ensureExtensionBuilt, REPO_ROOT } from '../host/codeServer.mjs';
import { buildIntegrationTests } from './build.mjs';

// ONNX Runtime's telemetry off in every process this starts (src/protocol/telemetry.ts).
process.env.ORT_DISABLE_TELEMETRY = '1';

const HOST = path.join(REPO_ROOT, 'test', 'host', 'code-test-host.mjs');
const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'workspace');
const RESULTS_DIR = path.join(REPO_ROOT, 'test-results', 'integration');

const args = process.argv.slice(2);
const grepAt = args.indexOf('--grep');
const grep = grepAt >= 0 ? args[grepAt + 1] : process.env.FST_TEST_GREP;

const t0 = Date.now();
ensureCodeServer(); // installs code-server and Chromium when missing (cached)
ensureExtensionBuilt();
const { outfile, files } = await buildIntegrationTests();
console.log(`integration: ${files.length} suite file(s) bundled into ${path.relative(REPO_ROOT, outfile)}`);

fs.rmSync(RESULTS_DIR, { recursive: true, force: true });
fs.mkdirSync(RESULTS_DIR, { recursive: true });
const resultsFile = path.join(RESULTS_DIR, 'results.json');
const run = createRunDir('fst-it');
const workspace = copyWorkspace(FIXTURE, path.join(run.dir, 'workspace'));

let hostCode = 1;
try {
  hostCode = await runTests({
    vscodeExecutablePath: HOST,
    extensionDevelopmentPath: REPO_ROOT,
    extensionTestsPath: outfile,
    launchArgs: [
      workspace,
      `--user-data-dir=${path.join(run.dir, 'user-data')}`,
      `--extensions-dir=${path.join(run.dir, 'extensions')}`,
    ],
    extensionTestsEnv: {
      FST_TEST_RESULTS: resultsFile,
      FST_TEST_LOG_DIR: RESULTS_DIR,
      FST_REPO_ROOT: REPO_ROOT,
      FST_SHARED_DATA: process.env.FST_SHARED_DATA ?? path.resolve(REPO_ROOT, '..', 'shared', 'data'),
      ...(grep ? { FST_TEST_GREP: grep } : {}),
    },
  });
} catch (e) {
  // TestRunFailedError: the host exited non-zero (failed tests, or it could not run them)
  console.error(`integration: ${e?.message ?? e}`);
} finally {
  run.cleanup();
}

let results;
try {
  results = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
} catch {
  /* no results: the tests never ran */
}
const seconds = ((Date.now() - t0) / 1000).toFixed(1);
if (!results) {
  console.error(
    `integration: no results from the extension host (host exit code ${hostCode}); see the output above and ${path.relative(REPO_ROOT, RESULTS_DIR)}/code-server.log`,
  );
  console.log(`(harness error after ${seconds} s)`);
  console.log('integration: 0 passed, 1 failed');
  process.exit(1);
}
for (const f of results.failures)
  console.error(`integration FAILED: ${f.title}\n  ${f.error.split('\n').slice(0, 6).join('\n  ')}`);
console.log(`integration: ${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`);
console.log(`(integration run took ${seconds} s; artefacts in ${path.relative(REPO_ROOT, RESULTS_DIR)}/)`);
process.exit(hostCode === 0 && results.failed === 0 && results.passed > 0 ? 0 : 1);
