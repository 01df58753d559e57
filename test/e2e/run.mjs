// End-to-end UI scenarios: a throw-away code-server 4.100.3 on a free 127.0.0.1 port with the
// extension (unpacked from this checkout, or VSIX=path/to.vsix installed with
// `code-server --install-extension`), the fixture workspace opened in headless Debian Chromium
// via playwright-core, and every test/e2e/scenarios/*.mjs run in turn, each in a fresh page on a
// fresh copy of test/fixtures/workspace. Screenshots, console logs and the code-server log go to
// test-results/e2e/.
//
// usage: node test/e2e/run.mjs [name-filter ...] [--list]
// Env:   VSIX=path.vsix       test the packaged extension instead of the checkout
//        E2E_SCENARIOS=regexp same as name filters
//        E2E_SCENARIO_TIMEOUT_MS (default 300000; a scenario module may export timeoutMs)
//        FST_TEST_VERBOSE=1   print the workbench console; FST_KEEP_RUN_DIR=1 keep the run folder
// Prints "e2e: N passed, N failed" last; exits non-zero when a scenario fails.
//
// A scenario module: export async function run(ctx); optional: export const description,
// export const timeoutMs, export const needsExtension = false (runs even without src/extension.ts).
// ctx = { page, workspace, log, screenshot(name), frameOf(opts), explorerRow(name),
//         revealInExplorer(relPath), contextMenu(target, item), runCommand(title),
//         pickQuickItem(label), answerInput(value), waitForFile(relOrAbsPath, opts),
//         waitForNotification(text), notifications(), editorTabs(), menuItemLabels(),
//         mode: 'dev' | 'vsix', repoRoot, server: { base } }
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ensureCodeServer,
  copyWorkspace,
  createRunDir,
  ensureExtensionBuilt,
  installExtension,
  launchChromium,
  onInterrupt,
  REPO_ROOT,
  startCodeServer,
  workbenchUrl,
} from '../host/codeServer.mjs';
import * as h from './helpers.mjs';

// ONNX Runtime's telemetry off in every process this starts (src/protocol/telemetry.ts).
process.env.ORT_DISABLE_TELEMETRY = '1';

const SCENARIO_DIR = path.join(REPO_ROOT, 'test', 'e2e', 'scenarios');
const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'workspace');
const OUT = process.env.FST_E2E_OUT
  ? path.resolve(process.env.FST_E2E_OUT)
  : path.join(REPO_ROOT, 'test-results', 'e2e');
const DEFAULT_TIMEOUT_MS = Number(process.env.E2E_SCENARIO_TIMEOUT_MS || 300_000);
const verbose = !!process.env.FST_TEST_VERBOSE;

const args = process.argv.slice(2);
const filters = args.filter((a) => !a.startsWith('--'));
if (process.env.E2E_SCENARIOS) filters.push(process.env.E2E_SCENARIOS);
const scenarioFiles = fs
  .readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.mjs'))
  .sort()
  .filter((f) => filters.length === 0 || filters.some((re) => new RegExp(re).test(f.replace(/\.mjs$/, ''))));
if (args.includes('--list')) {
  for (const f of scenarioFiles) console.log(f.replace(/\.mjs$/, ''));
  process.exit(0);
}
if (scenarioFiles.length === 0) {
  console.error(`e2e: no scenario in ${SCENARIO_DIR} matches ${JSON.stringify(filters)}`);
  process.exit(1);
}

const t0 = Date.now();
const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1)}s]`;
const vsix = process.env.VSIX ? path.resolve(process.env.VSIX) : null;
const mode = vsix ? 'vsix' : 'dev';
ensureCodeServer();
const hasExtension = vsix ? fs.existsSync(vsix) : fs.existsSync(path.join(REPO_ROOT, 'src', 'extension.ts'));
if (vsix && !hasExtension) {
  console.error(`e2e: VSIX ${vsix} not found`);
  process.exit(1);
}
if (mode === 'dev' && hasExtension) ensureExtensionBuilt();

fs.rmSync(OUT, { recursive: true, force: true });
fs.mkdirSync(OUT, { recursive: true });
const run = createRunDir('fst-e2e');
const userDataDir = path.join(run.dir, 'user-data');
const extensionsDir = path.join(run.dir, 'extensions');
let server;
let browser;
const shutdown = async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
  if (server && fs.existsSync(server.logFile)) fs.copyFileSync(server.logFile, path.join(OUT, 'code-server.log'));
  run.cleanup();
};
onInterrupt(shutdown);

const results = [];
try {
  if (vsix) {
    console.log(`${stamp()} installing ${path.relative(REPO_ROOT, vsix)}`);
    console.log(installExtension({ run, vsix, userDataDir, extensionsDir }));
  }
  server = await startCodeServer({ run, userDataDir, extensionsDir });
  console.log(
    `${stamp()} code-server ${server.base} up (extension: ${mode === 'vsix' ? path.basename(vsix) : hasExtension ? 'unpacked from this checkout' : 'none, src/extension.ts missing'})`,
  );
  browser = await launchChromium(run);
  for (const first of browser.pages()) await first.close();

  for (const file of scenarioFiles) {
    const name = file.replace(/\.mjs$/, '');
    const mod = await import(pathToFileURL(path.join(SCENARIO_DIR, file)).href);
    if (typeof mod.run !== 'function') {
      results.push({ name, ok: false, error: 'exports no run()' });
      continue;
    }
    if (mod.needsExtension !== false && !hasExtension) {
      console.log(`${stamp()} SKIP ${name}: needs the extension (src/extension.ts is missing)`);
      results.push({ name, ok: true, skipped: true });
      continue;
    }
    const started = Date.now();
    const workspace = copyWorkspace(FIXTURE, path.join(run.dir, `ws-${name}`));
    const page = await browser.newPage();
    const consoleLog = fs.createWriteStream(path.join(OUT, `${name}.console.log`));
    page.on('console', (m) => {
      const line = `[${m.type()}] ${m.text()}`;
      consoleLog.write(line + '\n');
      if (verbose) console.log(`  ${line}`);
    });
    page.on('pageerror', (e) => consoleLog.write(`[pageerror] ${e.stack ?? e.message}\n`));
    let shot = 0;
    const log = (...a) => console.log(`${stamp()} ${name}:`, ...a);
    const ctx = {
      page,
      workspace,
      log,
      mode,
      repoRoot: REPO_ROOT,
      server: { base: server.base },
      screenshot: async (label) => {
        const p = path.join(OUT, `${name}-${String(++shot).padStart(2, '0')}-${label.replace(/[^\w.-]+/g, '_')}.png`);
        await page.screenshot({ path: p });
        log(`screenshot ${path.relative(REPO_ROOT, p)}`);
        return p;
      },
      frameOf: (opts) => h.frameOf(page, opts),
      explorerRow: (n) => h.explorerRow(page, n),
      revealInExplorer: (p, o) => h.revealInExplorer(page, p, o),
      contextMenu: (target, item, o) => h.contextMenu(page, target, item, o),
      menuItemLabels: () => h.menuItemLabels(page),
      runCommand: (title, o) => h.runCommand(page, title, o),
      pickQuickItem: (label, o) => h.pickQuickItem(page, label, o),
      answerInput: (value, o) => h.answerInput(page, value, o),
      waitForFile: (p, o) => h.waitForFile(path.resolve(workspace, p), o),
      waitForNotification: (text, o) => h.waitForNotification(page, text, o),
      notifications: () => h.notifications(page),
      editorTabs: () => h.editorTabs(page),
    };
    const timeoutMs = mod.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    console.log(`${stamp()} RUN  ${name}${mod.description ? ` — ${mod.description}` : ''}`);
    let timer;
    try {
      await page.goto(
        workbenchUrl(server, { folder: workspace, devPaths: mode === 'dev' && hasExtension ? [REPO_ROOT] : [] }),
      );
      await h.waitForWorkbench(page);
      await Promise.race([
        mod.run(ctx),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      results.push({ name, ok: true, ms: Date.now() - started });
      console.log(`${stamp()} PASS ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (e) {
      results.push({ name, ok: false, ms: Date.now() - started, error: e?.stack ?? String(e) });
      console.log(`${stamp()} FAIL ${name}: ${e?.stack ?? e}`);
      await page.screenshot({ path: path.join(OUT, `${name}-FAILED.png`) }).catch(() => {});
      const toasts = await h.notifications(page).catch(() => []);
      if (toasts.length) console.log(`${stamp()} ${name}: notifications shown: ${JSON.stringify(toasts)}`);
    } finally {
      clearTimeout(timer);
      await page.close().catch(() => {});
      consoleLog.end();
    }
  }
} catch (e) {
  console.error(`e2e: harness error: ${e?.stack ?? e}`);
  results.push({ name: 'harness', ok: false, error: String(e?.stack ?? e) });
} finally {
  await shutdown();
}

fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(results, null, 2));
const passed = results.filter((r) => r.ok && !r.skipped).length;
const failed = results.filter((r) => !r.ok).length;
const skipped = results.filter((r) => r.skipped).length;
console.log(
  `(e2e took ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots and logs in ${path.relative(REPO_ROOT, OUT)}/)`,
);
console.log(`e2e: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
