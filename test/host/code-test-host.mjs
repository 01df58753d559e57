#!/usr/bin/env node
// A "VS Code executable" for @vscode/test-electron (runTests' vscodeExecutablePath) and
// @vscode/test-cli (useInstallation.fromPath): VS Code cannot be downloaded here, so this takes
// the desktop-style arguments test-electron passes (--extensionDevelopmentPath=,
// --extensionTestsPath=, --user-data-dir=, --extensions-dir=, a folder or .code-workspace),
// starts code-server on a free 127.0.0.1 port, opens the workbench in headless Chromium with the
// web `payload` parameter, prints the extension host's console (mocha's report) and exits with
// the tests' exit code (window.codeAutomationExit). The extension host is code-server's Node 20,
// not Electron: extensions see uiKind Web and a remote name.
//
// Env: CODE_SERVER_BIN, CHROMIUM_BIN, EXT_TEST_TIMEOUT_MS (default 600000), FST_TEST_VERBOSE=1
// (all workbench console output), FST_KEEP_RUN_DIR=1 (keep the run folder), FST_TEST_TMP (where
// run folders go).
import fs from 'node:fs';
import path from 'node:path';
import {
  createRunDir,
  forwardConsole,
  launchChromium,
  onInterrupt,
  startCodeServer,
  workbenchUrl,
} from './codeServer.mjs';

const TIMEOUT_MS = Number(process.env.EXT_TEST_TIMEOUT_MS || 600_000);

// ---- the desktop-style argv ----
const devPaths = [];
const positionals = [];
let testsPath;
let userDataDir;
let extensionsDir;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const m = /^--([^=]+)(?:=(.*))?$/s.exec(argv[i]);
  if (!m) {
    positionals.push(argv[i]);
    continue;
  }
  const [, key, inline] = m;
  const value = () => (inline !== undefined ? inline : argv[++i]);
  if (key === 'extensionDevelopmentPath') devPaths.push(path.resolve(value()));
  else if (key === 'extensionTestsPath') testsPath = path.resolve(value());
  else if (key === 'user-data-dir') userDataDir = path.resolve(value());
  else if (key === 'extensions-dir') extensionsDir = path.resolve(value());
  else if (key === 'version' || key === 'v') {
    console.log('1.100.3\ncode-server 4.100.3 test host\nx64');
    process.exit(0);
  }
  // the rest (--no-sandbox, --disable-gpu-sandbox, --skip-welcome, --disable-extensions, …) has no meaning here
}

const run = createRunDir('cth');
userDataDir ??= path.join(run.dir, 'user-data');
extensionsDir ??= path.join(run.dir, 'extensions');

let server;
let browser;
const shutdown = async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
  run.cleanup();
};
onInterrupt(shutdown);

let code = 1;
try {
  const t0 = Date.now();
  server = await startCodeServer({ run, userDataDir, extensionsDir });
  console.log(`code-test-host: code-server ${server.base} up after ${Date.now() - t0} ms`);
  const url = workbenchUrl(server, { folder: positionals[0], devPaths, testsPath });
  browser = await launchChromium(run);
  const page = browser.pages()[0] ?? (await browser.newPage());
  const consoleOut = forwardConsole(page);
  const done = new Promise((resolve) => {
    page.exposeFunction('codeAutomationExit', (c) => resolve(c));
  });
  await page.goto(url);
  if (!testsPath) {
    // Without tests this is an interactive host: keep it up until interrupted.
    await page.waitForSelector('.monaco-workbench');
    console.log(`code-test-host: workbench ready at ${url} (Ctrl+C to stop)`);
    await new Promise(() => {});
  }
  let timer;
  const result = await Promise.race([
    done,
    new Promise((r) => {
      timer = setTimeout(() => r('timeout'), TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  await consoleOut.flush();
  if (result === 'timeout') {
    if (process.env.FST_TEST_LOG_DIR) fs.mkdirSync(process.env.FST_TEST_LOG_DIR, { recursive: true });
    console.error(`code-test-host: the tests did not finish within ${TIMEOUT_MS} ms (EXT_TEST_TIMEOUT_MS)`);
    if (process.env.FST_TEST_LOG_DIR) {
      await page.screenshot({ path: path.join(process.env.FST_TEST_LOG_DIR, 'timeout.png') }).catch(() => {});
    }
  } else {
    code = typeof result === 'number' ? result : 1;
  }
  console.log(`code-test-host: tests finished with exit code ${code} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
} catch (e) {
  console.error('code-test-host:', e?.stack ?? e);
}
if (server && process.env.FST_TEST_LOG_DIR) {
  fs.mkdirSync(process.env.FST_TEST_LOG_DIR, { recursive: true });
  fs.copyFileSync(server.logFile, path.join(process.env.FST_TEST_LOG_DIR, 'code-server.log'));
}
// A results file means the tests ran and reported their failures; otherwise the server log
// explains extension host crashes and extensions that failed to load.
const resultsWritten = !!process.env.FST_TEST_RESULTS && fs.existsSync(process.env.FST_TEST_RESULTS);
if (code !== 0 && server && !resultsWritten) {
  const log = server.log().trim();
  if (log)
    console.error(`code-test-host: last lines of the code-server log:\n${log.split('\n').slice(-40).join('\n')}`);
}
await shutdown();
process.exit(code);
