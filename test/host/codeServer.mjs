// Shared plumbing for the tests that need a real VS Code: a throw-away code-server 4.100.3
// (VS Code 1.100.3 with a Node 20 extension host) on a free 127.0.0.1 port, and Debian's headless
// Chromium driven by playwright-core. Used by test/host/code-test-host.mjs (integration tests)
// and test/e2e/run.mjs (UI scenarios). Every run keeps all its files (profiles, TMPDIR, XDG_*
// folders, sockets) in one run folder that cleanup() removes.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CODE_SERVER_VERSION = '4.100.3';
export const CHROMIUM_BIN = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

export function codeServerBin() {
  const bin =
    process.env.CODE_SERVER_BIN ||
    path.join(REPO_ROOT, '.vscode-test', 'code-server', 'node_modules', '.bin', 'code-server');
  if (!fs.existsSync(bin))
    throw new Error(`code-server not found at ${bin}: run scripts/install-code-server.sh (or set CODE_SERVER_BIN)`);
  if (!fs.existsSync(CHROMIUM_BIN))
    throw new Error(
      `Chromium not found at ${CHROMIUM_BIN}: run scripts/install-code-server.sh (it installs Debian's chromium) or set CHROMIUM_BIN`,
    );
  return bin;
}

/**
 * codeServerBin(), installing code-server (and Chromium) first with scripts/install-code-server.sh
 * when they are missing from their default places, so `npm ci && npm test` works on a fresh
 * machine. FST_NO_AUTO_INSTALL=1 turns that off.
 */
export function ensureCodeServer() {
  const missing =
    (!process.env.CODE_SERVER_BIN &&
      !fs.existsSync(path.join(REPO_ROOT, '.vscode-test', 'code-server', `.installed-${CODE_SERVER_VERSION}`))) ||
    (!process.env.CHROMIUM_BIN && !fs.existsSync(CHROMIUM_BIN));
  if (missing && !process.env.FST_NO_AUTO_INSTALL) {
    console.log('code-server or Chromium is missing: running scripts/install-code-server.sh');
    const r = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'install-code-server.sh')], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`scripts/install-code-server.sh failed (exit ${r.status})`);
  }
  return codeServerBin();
}

/** Settings for a fresh profile: no welcome page, walkthroughs, trust prompt, updates or telemetry. */
export const FRESH_PROFILE_SETTINGS = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'chat.commandCenter.enabled': false,
  'workbench.enableExperiments': false,
};

/**
 * A run folder under the temp dir with tmp/, xdg-* folders and run/ (XDG_RUNTIME_DIR) inside. Sets this
 * process's TMPDIR to its tmp/ so that playwright's artefact folders land there as well. Keep
 * the prefix short: VS Code puts unix sockets (vscode-ipc-<uuid>.sock, 47 chars) into run/ and
 * tmp/, and a socket path may not exceed 107 characters, even when run folders nest.
 */
export function createRunDir(prefix) {
  const dir = fs.mkdtempSync(path.join(process.env.FST_TEST_TMP || os.tmpdir(), `${prefix}-`));
  const tmp = path.join(dir, 'tmp');
  fs.mkdirSync(tmp);
  const env = {
    TMPDIR: tmp,
    XDG_CONFIG_HOME: path.join(dir, 'xdg-config'),
    XDG_DATA_HOME: path.join(dir, 'xdg-data'),
    XDG_CACHE_HOME: path.join(dir, 'xdg-cache'),
    XDG_STATE_HOME: path.join(dir, 'xdg-state'),
    XDG_RUNTIME_DIR: path.join(dir, 'run'),
  };
  fs.mkdirSync(env.XDG_RUNTIME_DIR, { mode: 0o700 });
  const originalTmp = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  let removed = false;
  const cleanup = () => {
    if (removed) return;
    removed = true;
    if (originalTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = originalTmp;
    if (process.env.FST_KEEP_RUN_DIR) {
      console.log(`kept run folder ${dir}`);
      return;
    }
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch (e) {
      console.error(`could not remove the run folder ${dir}: ${e?.message ?? e}`);
    }
  };
  return { dir, tmp, env, cleanup };
}

/** Copies a fixture workspace into the run folder so tests may write into it freely. */
export function copyWorkspace(fixture, dest) {
  fs.cpSync(fixture, dest, { recursive: true });
  return dest;
}

export function writeUserSettings(userDataDir, extra = {}) {
  const user = path.join(userDataDir, 'User');
  fs.mkdirSync(user, { recursive: true });
  const file = path.join(user, 'settings.json');
  const existing = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  fs.writeFileSync(file, JSON.stringify({ ...FRESH_PROFILE_SETTINGS, ...existing, ...extra }, null, 2));
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function serverEnv(run, extraEnv) {
  const env = { ...process.env, ...run.env, ...extraEnv };
  // inherited from an Electron-style launcher, it would make code-server's helpers misbehave
  delete env.ELECTRON_RUN_AS_NODE;
  delete env.VSCODE_IPC_HOOK_CLI;
  return env;
}

/** `code-server --install-extension <vsix>` into the given profile (no server needed). */
export function installExtension({ run, vsix, userDataDir, extensionsDir, env }) {
  const r = spawnSync(
    codeServerBin(),
    ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--install-extension', path.resolve(vsix)],
    { env: serverEnv(run, env), encoding: 'utf8', timeout: 120_000 },
  );
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0 || /Failed|Error/.test(out))
    throw new Error(`installing ${vsix} failed (exit ${r.status}):\n${out}`);
  return out.trim();
}

/**
 * Starts code-server in its own process group and waits for /healthz.
 * Returns { base, host, port, pid, log(), stop() }; stop() ends the whole group.
 */
export async function startCodeServer({ run, userDataDir, extensionsDir, env, startTimeoutMs = 60_000 }) {
  const bin = codeServerBin();
  const port = await freePort();
  fs.mkdirSync(extensionsDir, { recursive: true });
  writeUserSettings(userDataDir);
  const config = path.join(run.dir, 'code-server.yaml');
  fs.writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const logFile = path.join(run.dir, 'code-server.log');
  const logFd = fs.openSync(logFile, 'a');
  const child = spawn(
    bin,
    [
      '--config',
      config,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      '--disable-proxy',
      '--user-data-dir',
      userDataDir,
      '--extensions-dir',
      extensionsDir,
    ],
    { env: serverEnv(run, env), stdio: ['ignore', logFd, logFd], detached: true },
  );
  fs.closeSync(logFd);
  const watchdog = startWatchdog(child.pid, process.env.FST_KEEP_RUN_DIR ? '' : run.dir);
  let exited = false;
  const exitedPromise = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    }),
  );
  const readLog = () => {
    try {
      return fs.readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const killGroup = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  };
  // Last resort if the caller dies without stop(): the group must not outlive us.
  const onExit = () => killGroup('SIGKILL');
  process.on('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    if (!exited) {
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), 5000);
      await exitedPromise;
      clearTimeout(timer);
    }
    // children (extension host, file watcher, pty host) share the group: make sure none lingers
    for (let i = 0; i < 50 && groupAlive(child.pid); i++) {
      if (i === 20) killGroup('SIGKILL');
      await sleep(100);
    }
    try {
      process.kill(watchdog.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (exited) throw new Error(`code-server exited during start-up:\n${readLog()}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer on ${base} within ${startTimeoutMs} ms:\n${readLog()}`);
    }
    await sleep(100);
  }
  return { base, host: `127.0.0.1:${port}`, port, pid: child.pid, logFile, log: readLog, stop };
}

/**
 * A detached shell that outlives a SIGKILLed test runner: once our pid is gone it ends
 * code-server's process group and removes the run folder. It exits by itself as soon as the
 * group is gone (the normal stop).
 */
function startWatchdog(pgid, runDir) {
  const script = [
    'while kill -0 "$0" 2>/dev/null; do kill -0 "-$1" 2>/dev/null || exit 0; sleep 1; done',
    'if kill -0 "-$1" 2>/dev/null; then kill -TERM "-$1"; sleep 3; kill -KILL "-$1" 2>/dev/null; fi',
    'if [ -n "$2" ]; then rm -rf -- "$2"; fi',
  ].join('\n');
  const dog = spawn('/bin/sh', ['-c', script, String(process.pid), String(pgid), runDir], {
    detached: true,
    stdio: 'ignore',
  });
  dog.unref();
  return dog;
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The workbench URL. Dev extensions and the tests entry go through VS Code web's `payload`
 * parameter as vscode-remote:// URIs whose authority is code-server's host:port.
 */
export function workbenchUrl(server, { folder, devPaths = [], testsPath } = {}) {
  const remote = (p) => `vscode-remote://${server.host}${path.resolve(p)}`;
  const payload = [...devPaths.map((p) => ['extensionDevelopmentPath', remote(p)]), ['skipWelcome', 'true']];
  if (testsPath) payload.push(['extensionTestsPath', remote(testsPath)]);
  let url = `${server.base}/?payload=${encodeURIComponent(JSON.stringify(payload))}`;
  if (!folder) url += '&ew=true';
  else if (folder.endsWith('.code-workspace')) url += `&workspace=${encodeURIComponent(path.resolve(folder))}`;
  else url += `&folder=${encodeURIComponent(path.resolve(folder))}`;
  return url;
}

/** Debian's headless Chromium with its profile, caches and temp files inside the run folder. */
export async function launchChromium(run, { viewport = { width: 1280, height: 800 } } = {}) {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(path.join(run.dir, 'chromium-profile'), {
    executablePath: CHROMIUM_BIN,
    headless: true,
    viewport,
    // our onInterrupt() closes the browser and then stops code-server and removes the run
    // folder; playwright's own handlers would exit the process half-way through that
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    env: { ...process.env, ...run.env },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      '--password-store=basic',
    ],
  });
}

// Workbench noise that says nothing about the extension under test.
// …except these, which explain a webview that never loads.
const KEEP = /Error loading webview|Could not register service worker|Failed to register a ServiceWorker/i;
const NOISE =
  /Creating a socket|connection token|Service Worker|service worker|sandbox|ChatSession|[Cc]opilot|additional builtin|same-origin|Failed to load resource|open-vsx|vsda|Ignoring the error while validating workspace folder|An iframe which has both allow-scripts|Long running operations during shutdown|\[Extension Host\] \(node:\d+\)/;

/**
 * Forwards the page's console to our stdout/stderr in order. The extension host's console is
 * forwarded to the page as ('%c<LEVEL>', 'color: …', ...args). flush() waits for everything
 * received so far.
 */
export function forwardConsole(page, { verbose = !!process.env.FST_TEST_VERBOSE, prefix = '' } = {}) {
  let chain = Promise.resolve();
  page.on('console', (m) => {
    chain = chain.then(async () => {
      let args;
      try {
        args = await Promise.all(m.args().map((a) => a.jsonValue()));
      } catch {
        args = [];
      }
      if (!args.length) args = [m.text()];
      if (typeof args[0] === 'string' && args[0].startsWith('%c')) args = args.slice(2);
      const text = util.format(...args);
      if (verbose || KEEP.test(text) || !NOISE.test(text))
        (m.type() === 'error' ? process.stderr : process.stdout).write(prefix + text + '\n');
    });
  });
  page.on('pageerror', (e) => {
    chain = chain.then(() => {
      if (verbose || KEEP.test(e.message) || !NOISE.test(e.message))
        process.stderr.write(`${prefix}[pageerror] ${e.message}\n`);
    });
  });
  return {
    flush: async () => {
      await sleep(200);
      await chain;
    },
  };
}

/**
 * Builds the extension (node esbuild.mjs) when the package.json `main` bundle is missing or
 * older than a source file, so a standalone test run needs no separate build step while
 * `npm test`, which builds first, pays nothing.
 */
export function ensureExtensionBuilt() {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
  if (!pkg.main)
    throw new Error('package.json has no "main": the test harness needs the extension entry (./dist/extension.js)');
  const main = path.resolve(REPO_ROOT, pkg.main.endsWith('.js') ? pkg.main : `${pkg.main}.js`);
  const built = fs.existsSync(main) ? fs.statSync(main).mtimeMs : 0;
  const newest = newestMtime([
    path.join(REPO_ROOT, 'src'),
    path.join(REPO_ROOT, 'webview'),
    path.join(REPO_ROOT, 'package.json'),
    path.join(REPO_ROOT, 'esbuild.mjs'),
  ]);
  if (built >= newest) return false;
  console.log(
    `building the extension (${path.relative(REPO_ROOT, main)} ${built ? 'is older than its sources' : 'is missing'})`,
  );
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('node esbuild.mjs failed');
  if (!fs.existsSync(main)) throw new Error(`node esbuild.mjs did not produce ${main} (does src/extension.ts exist?)`);
  return true;
}

function newestMtime(paths) {
  let newest = 0;
  const visit = (p) => {
    let st;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) visit(path.join(p, e));
    else newest = Math.max(newest, st.mtimeMs);
  };
  paths.forEach(visit);
  return newest;
}

/** Installs handlers so Ctrl+C / SIGTERM still run `cleanup` before exiting. */
export function onInterrupt(cleanup) {
  let busy = false;
  const handler = async (sig) => {
    if (busy) process.exit(130);
    busy = true;
    console.error(`\n${sig}: stopping code-server and Chromium…`);
    try {
      await cleanup();
    } finally {
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('SIGHUP', handler);
}
