// "Set Up GPU Acceleration…", engine side: checks the prerequisites, installs
// @tensorflow/tfjs-node-gpu (or tfjs-node, or the WebGPU packages of webgpuBackend.ts) into the
// extension's storage with npm, or fetches ONNX Runtime's CUDA provider, and reports each
// failure with one precise message.
//
// Facts (DESIGN §5): tfjs-node(-gpu) 4.22's install script downloads libtensorflow 2.9.1 and a
// prebuilt addon from storage.googleapis.com (mirror: TFJS_NODE_CDN_STORAGE / TFJS_NODE_BASE_URI,
// or scripts/custom-binary.json {"tf-lib": URI, "addon": {...}}); the GPU build needs CUDA 11.2
// and cuDNN 8.1. onnxruntime-node 1.30's CUDA provider (CUDA 12, cuDNN 9) comes from NuGet
// through the package's own script/install.js (ONNXRUNTIME_NODE_INSTALL=cuda12).
// Everything runs as child processes without a shell; the system access goes through
// `SystemProbe` so that tests can stand in for the machine.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { StyleTransferError } from '../protocol/errors';
import type { GpuTarget } from '../protocol/jobs';

export type { GpuTarget };
export const TFJS_NODE_VERSION = '4.22.0';
/** The WebGPU packages (webgpuBackend.ts): Dawn for Node, and tfjs's WebGPU kernels for our tfjs-core. */
export const WEBGPU_PACKAGE_VERSION = '0.6.2';
export const TFJS_WEBGPU_VERSION = '4.22.0';
export const TFJS_DEFAULT_HOST = 'https://storage.googleapis.com/';
export const NUGET_HOST = 'https://api.nuget.org/';

export interface RunResult { readonly code: number | null; readonly stdout: string; readonly stderr: string; readonly error?: string }

/** The machine, as the checks see it. */
export interface SystemProbe {
  readonly platform: NodeJS.Platform;
  readonly arch: string;
  readonly env: NodeJS.ProcessEnv;
  exists(file: string): boolean;
  readFile(file: string): string | undefined;
  /** Runs `command` with `args` (no shell); never throws. */
  run(command: string, args: readonly string[], opts?: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void; signal?: AbortSignal }): Promise<RunResult>;
}

export function runProcess(command: string, args: readonly string[], opts: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void; signal?: AbortSignal } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '', stderr = '', pending = '';
    let child;
    try {
      child = spawn(command, [...args], { cwd: opts.cwd, env: opts.env, shell: false, windowsHide: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ code: null, stdout, stderr, error: (e as Error).message });
      return;
    }
    const timer = opts.timeoutMs ? setTimeout(() => child.kill(), opts.timeoutMs) : undefined;
    const onAbort = () => child.kill();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const feed = (chunk: string) => {
      if (!opts.onLine) return;
      pending += chunk;
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) opts.onLine(l.trim());
    };
    child.stdout.on('data', (d: Buffer) => { stdout += d; feed(d.toString()); });
    child.stderr.on('data', (d: Buffer) => { stderr += d; feed(d.toString()); });
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      resolve({ code: null, stdout, stderr, error: e.message });
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ code, stdout, stderr });
    });
  });
}

export const realSystem: SystemProbe = {
  platform: process.platform,
  arch: process.arch,
  env: process.env,
  exists: (f) => fs.existsSync(f),
  readFile: (f) => { try { return fs.readFileSync(f, 'utf8'); } catch { return undefined; } },
  run: runProcess,
};

export interface PrerequisiteCheck {
  readonly id: 'platform' | 'driver' | 'cuda' | 'cudnn' | 'vulkan';
  readonly ok: boolean;
  /** One precise sentence: what was found, or what is missing and what to do. */
  readonly message: string;
}

/** Shared libraries each target needs, per platform. */
const LIBRARIES: Record<'tfjs-node-gpu' | 'onnx-cuda', { cuda: { linux: string; win32: string; version: string }; cudnn: { linux: string; win32: string; version: string } }> = {
  'tfjs-node-gpu': {
    cuda: { linux: 'libcudart.so.11.0', win32: 'cudart64_110.dll', version: 'CUDA 11.2' },
    cudnn: { linux: 'libcudnn.so.8', win32: 'cudnn64_8.dll', version: 'cuDNN 8.1' },
  },
  'onnx-cuda': {
    cuda: { linux: 'libcudart.so.12', win32: 'cudart64_12.dll', version: 'CUDA 12' },
    cudnn: { linux: 'libcudnn.so.9', win32: 'cudnn64_9.dll', version: 'cuDNN 9' },
  },
};

/**
 * Where the dynamic loader would find `lib`: LD_LIBRARY_PATH (PATH on Windows), ldconfig's
 * cache, then the usual CUDA folders. Undefined when nowhere.
 */
export async function findSharedLibrary(lib: string, probe: SystemProbe): Promise<string | undefined> {
  const sep = probe.platform === 'win32' ? ';' : ':';
  const envDirs = (probe.platform === 'win32' ? probe.env.PATH ?? probe.env.Path ?? '' : probe.env.LD_LIBRARY_PATH ?? '').split(sep).filter(Boolean);
  const join = probe.platform === 'win32' ? path.win32.join : path.posix.join;
  for (const d of envDirs) if (probe.exists(join(d, lib))) return join(d, lib);
  if (probe.platform === 'linux') {
    for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
      const r = await probe.run(ldconfig, ['-p'], { timeoutMs: 10_000 });
      if (r.code !== 0) continue;
      // "\tlibcudart.so.11.0 (libc6,x86-64) => /usr/local/cuda/lib64/libcudart.so.11.0"
      for (const line of r.stdout.split('\n')) {
        const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)/.exec(line);
        if (m && m[1] === lib && (probe.arch !== 'x64' || m[2].includes('x86-64'))) return m[3];
      }
      break;
    }
    for (const d of ['/usr/local/cuda/lib64', '/usr/local/cuda/targets/x86_64-linux/lib', '/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/opt/cuda/lib64']) {
      if (probe.exists(join(d, lib))) return join(d, lib);
    }
  }
  if (probe.platform === 'win32') {
    const root = probe.env.CUDA_PATH;
    if (root && probe.exists(join(root, 'bin', lib))) return join(root, 'bin', lib);
  }
  return undefined;
}

/** The NVIDIA driver: its version from /proc (Linux) or nvidia-smi; undefined when absent. */
export async function nvidiaDriver(probe: SystemProbe): Promise<{ version: string; gpus?: string } | undefined> {
  if (probe.platform === 'linux') {
    const proc = probe.readFile('/proc/driver/nvidia/version');
    const m = proc && /Kernel Module\s+([\d.]+)/.exec(proc);
    if (m) {
      const smi = await probe.run('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { timeoutMs: 15_000 });
      return { version: m[1], ...(smi.code === 0 && smi.stdout.trim() ? { gpus: smi.stdout.trim().split('\n').join(', ') } : {}) };
    }
  }
  const smi = await probe.run('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { timeoutMs: 15_000 });
  if (smi.code === 0 && smi.stdout.trim()) {
    const rows = smi.stdout.trim().split('\n').map((r) => r.split(',').map((c) => c.trim()));
    return { version: rows[0][1] ?? 'unknown', gpus: rows.map((r) => r[0]).join(', ') };
  }
  return undefined;
}

/** Platforms the webgpu package ships Dawn for. */
const WEBGPU_PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];

/** The checks for `target`, each with its message (tfjs-node, the CPU build, needs none). */
export async function checkGpuPrerequisites(target: GpuTarget, probe: SystemProbe = realSystem): Promise<PrerequisiteCheck[]> {
  if (target === 'webgpu') {
    const platform = `${probe.platform}-${probe.arch}`;
    const supported = WEBGPU_PLATFORMS.includes(platform);
    const checks: PrerequisiteCheck[] = [{ id: 'platform', ok: supported, message: supported ? `webgpu ${WEBGPU_PACKAGE_VERSION} ships Dawn for ${platform}` : `webgpu ${WEBGPU_PACKAGE_VERSION} has no Dawn build for ${platform}` }];
    // Dawn reaches a GPU through Vulkan on Linux (Metal and Direct3D 12 come with macOS and Windows).
    if (supported && probe.platform === 'linux') {
      const loader = await findSharedLibrary('libvulkan.so.1', probe);
      checks.push(loader
        ? { id: 'vulkan', ok: true, message: `Vulkan loader: ${loader}` }
        : { id: 'vulkan', ok: false, message: 'the Vulkan loader (libvulkan.so.1) is missing: WebGPU reaches the GPU through Vulkan on Linux. Install it (Debian/Ubuntu: libvulkan1) and your GPU\'s Vulkan driver (mesa-vulkan-drivers for AMD and Intel; NVIDIA\'s driver brings its own)' });
    }
    return checks;
  }
  if (target === 'tfjs-node') {
    const supported = (probe.platform === 'linux' || probe.platform === 'win32' || probe.platform === 'darwin') && (probe.arch === 'x64' || (probe.platform !== 'win32' && probe.arch === 'arm64'));
    return [{ id: 'platform', ok: supported, message: supported ? `${probe.platform}-${probe.arch} has a prebuilt native TensorFlow` : `@tensorflow/tfjs-node ${TFJS_NODE_VERSION} has no prebuilt TensorFlow for ${probe.platform}-${probe.arch}` }];
  }
  const checks: PrerequisiteCheck[] = [];
  const what = target === 'tfjs-node-gpu' ? `@tensorflow/tfjs-node-gpu ${TFJS_NODE_VERSION}` : 'ONNX Runtime\'s CUDA provider';
  const platformOk = (probe.platform === 'linux' || probe.platform === 'win32') && probe.arch === 'x64';
  checks.push({ id: 'platform', ok: platformOk, message: platformOk ? `${probe.platform}-x64 is supported by ${what}` : `${what} runs only on Linux and Windows on x64 (this is ${probe.platform}-${probe.arch}); WebGPU is the GPU path here` });
  if (!platformOk) return checks;
  const driver = await nvidiaDriver(probe);
  checks.push(driver
    ? { id: 'driver', ok: true, message: `NVIDIA driver ${driver.version}${driver.gpus ? ` (${driver.gpus})` : ''}` }
    : { id: 'driver', ok: false, message: probe.platform === 'linux'
      ? 'no NVIDIA driver: /proc/driver/nvidia/version is missing and nvidia-smi did not run. Install the NVIDIA driver (450 or newer) for your GPU'
      : 'no NVIDIA driver: nvidia-smi did not run. Install the NVIDIA driver (450 or newer) for your GPU' });
  const libs = LIBRARIES[target];
  const where = probe.platform === 'win32' ? 'on PATH or in %CUDA_PATH%\\bin' : 'in LD_LIBRARY_PATH, ldconfig\'s cache (ldconfig -p) or /usr/local/cuda/lib64';
  for (const id of ['cuda', 'cudnn'] as const) {
    const lib = probe.platform === 'win32' ? libs[id].win32 : libs[id].linux;
    const found = await findSharedLibrary(lib, probe);
    checks.push(found
      ? { id, ok: true, message: `${libs[id].version}: ${found}` }
      : { id, ok: false, message: `${libs[id].version} is missing: ${lib} was not found ${where}. ${what} needs ${libs.cuda.version} and ${libs.cudnn.version}${id === 'cudnn' ? ' (https://developer.nvidia.com/cudnn)' : ' (https://developer.nvidia.com/cuda-toolkit-archive)'}; if they are installed elsewhere, add that folder to ${probe.platform === 'win32' ? 'PATH' : 'LD_LIBRARY_PATH'} before starting VS Code` });
  }
  return checks;
}

// ---- Installing ----

export interface Step {
  readonly title: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/**
 * How to run npm without a shell: its JavaScript entry with a Node binary. `npmCli` and
 * `node` may be given (settings); otherwise npm-cli.js is looked up beside `node` on PATH.
 */
export function findNpm(probe: SystemProbe, hint: { node?: string; npmCli?: string } = {}): { node: string; npmCli: string } | undefined {
  const win = probe.platform === 'win32';
  const join = win ? path.win32.join : path.posix.join;
  const dirname = win ? path.win32.dirname : path.posix.dirname;
  const pathDirs = (probe.env.PATH ?? probe.env.Path ?? '').split(win ? ';' : ':').filter(Boolean);
  const nodeName = win ? 'node.exe' : 'node';
  const node = hint.node ?? pathDirs.map((d) => join(d, nodeName)).find((f) => probe.exists(f));
  if (!node) return undefined;
  if (hint.npmCli) return probe.exists(hint.npmCli) ? { node, npmCli: hint.npmCli } : undefined;
  const dir = dirname(node);
  const candidates = win
    ? [join(dir, 'node_modules', 'npm', 'bin', 'npm-cli.js')]
    : [join(dir, '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'), join(dir, 'node_modules', 'npm', 'bin', 'npm-cli.js'), '/usr/share/nodejs/npm/bin/npm-cli.js', '/usr/lib/node_modules/npm/bin/npm-cli.js'];
  const npmCli = candidates.find((c) => probe.exists(c));
  return npmCli ? { node, npmCli } : undefined;
}

export interface InstallOptions {
  readonly target: GpuTarget;
  /** Folder whose node_modules receives tfjs-node(-gpu): <globalStorage>/gpu. */
  readonly prefix: string;
  readonly npm: { node: string; npmCli: string };
  /** A mirror for libtensorflow and the addon (TFJS_NODE_CDN_STORAGE: a host URL ending in "/"). */
  readonly tfjsMirror?: string;
  /** A custom-binary.json object: { "tf-lib": URI of a libtensorflow archive, "addon"?: {...} }. */
  readonly customBinary?: { readonly 'tf-lib': string; readonly addon?: Record<string, string> };
  /** onnxruntime-node's package folder (for the CUDA provider). */
  readonly ortPackageDir?: string;
  readonly version?: string;
}

/** npm installing `pkgs` from the registry into `prefix`/node_modules, without their install scripts. */
export function npmInstallStep(npm: { node: string; npmCli: string }, title: string, prefix: string, pkgs: readonly string[]): Step {
  return { title, command: npm.node, args: [npm.npmCli, 'install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', ...pkgs], env: { npm_config_update_notifier: 'false' } };
}

/** The steps that install `target`, without running them. */
export function installSteps(o: InstallOptions): Step[] {
  const npm = (title: string, args: string[], env: Record<string, string> = {}): Step =>
    ({ title, command: o.npm.node, args: [o.npm.npmCli, ...args], env: { npm_config_update_notifier: 'false', ...env } });
  if (o.target === 'onnx-cuda') {
    if (!o.ortPackageDir) throw new StyleTransferError('not-found', 'onnxruntime-node is not installed with the extension, so its CUDA provider cannot be added');
    return [{
      title: 'Downloading ONNX Runtime\'s CUDA provider from NuGet (about 400 MB)',
      command: o.npm.node, args: [path.join(o.ortPackageDir, 'script', 'install.js')],
      env: { ONNXRUNTIME_NODE_INSTALL: 'cuda12' }, cwd: o.ortPackageDir,
    }];
  }
  if (o.target === 'webgpu') {
    // Both packages come whole from the npm registry (Dawn's binaries are inside webgpu); no
    // install script is needed (webgpu's only clears a macOS quarantine flag npm never sets).
    const pkgs = [`webgpu@${WEBGPU_PACKAGE_VERSION}`, `@tensorflow/tfjs-backend-webgpu@${TFJS_WEBGPU_VERSION}`];
    return [npmInstallStep(o.npm, `Installing ${pkgs.join(' and ')} from the npm registry (about 130 MB)`, o.prefix, pkgs)];
  }
  const pkg = `@tensorflow/${o.target}@${o.version ?? TFJS_NODE_VERSION}`;
  const mirrorEnv: Record<string, string> = o.tfjsMirror ? { TFJS_NODE_CDN_STORAGE: o.tfjsMirror.endsWith('/') ? o.tfjsMirror : `${o.tfjsMirror}/` } : {};
  return [
    // The package and its JavaScript dependencies first, without its download script…
    npmInstallStep(o.npm, `Installing ${pkg} from the npm registry`, o.prefix, [pkg]),
    // …then the script that downloads libtensorflow (~400 MB for the GPU build) and the addon.
    npm(`Downloading TensorFlow ${o.target === 'tfjs-node-gpu' ? '(GPU build, about 400 MB)' : '(about 100 MB)'}`, ['rebuild', '--prefix', o.prefix, `@tensorflow/${o.target}`], mirrorEnv),
  ];
}

/** Where the custom-binary.json of an installed tfjs-node(-gpu) goes. */
export function customBinaryPath(prefix: string, target: 'tfjs-node-gpu' | 'tfjs-node'): string {
  return path.join(prefix, 'node_modules', '@tensorflow', target, 'scripts', 'custom-binary.json');
}

/**
 * Undefined when `url` answers an HTTPS HEAD request within `timeoutMs`, else why not. Only a
 * reachability probe: nothing is downloaded here (npm and the packages' installers do that).
 */
export function checkReachable(url: string, timeoutMs = 8000): Promise<string | undefined> {
  return new Promise((resolve) => {
    let u: URL;
    try { u = new URL(url); } catch { resolve(`"${url}" is not a URL`); return; }
    if (u.protocol !== 'https:') { resolve(`"${url}" is not an https:// URL`); return; }
    const req = https.request(u, { method: 'HEAD', timeout: timeoutMs }, (res) => { res.resume(); resolve(undefined); });
    req.on('timeout', () => { req.destroy(); resolve(`no answer within ${timeoutMs / 1000} s`); });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message));
    req.end();
  });
}

export interface GpuSetupOptions {
  readonly target: GpuTarget;
  /** The extension's global storage; tfjs-node(-gpu) goes to <storage>/gpu. */
  readonly storageDir: string;
  readonly tfjsMirror?: string;
  /** HTTPS URL of a libtensorflow archive (.tar.gz, or .zip on Windows), written into custom-binary.json as "tf-lib". */
  readonly customLibtensorflow?: string;
  readonly node?: string;
  readonly npmCli?: string;
  /** Skip the prerequisite checks (the user chose "Install Anyway"). */
  readonly force?: boolean;
}

export interface GpuSetupResult {
  readonly target: GpuTarget;
  readonly checks: readonly PrerequisiteCheck[];
  /** For tfjs targets: the folder to add to extraModuleRoots. */
  readonly moduleRoot?: string;
  readonly log: string;
}

export interface SetupContext {
  readonly signal?: AbortSignal;
  readonly progress?: (message: string) => void;
  readonly log?: (line: string) => void;
  readonly probe?: SystemProbe;
  /** Injected by tests (no network). */
  readonly reachable?: (url: string) => Promise<string | undefined>;
  readonly ortPackageDir?: string;
}

function ortPackageDir(): string | undefined {
  try {
    return path.dirname(require.resolve('onnxruntime-node/package.json'));
  } catch {
    return undefined;
  }
}

/** The download host the tfjs install script will use with these options. */
export function tfjsDownloadHost(o: Pick<GpuSetupOptions, 'tfjsMirror' | 'customLibtensorflow'>, env: NodeJS.ProcessEnv): string {
  if (o.customLibtensorflow) {
    // tfjs-node's install script fetches "tf-lib" with https.get only.
    if (!/^https:\/\//i.test(o.customLibtensorflow)) throw new StyleTransferError('bad-input', `the libtensorflow archive must be an https:// URL (tfjs-node's installer downloads it), got "${o.customLibtensorflow}"`);
    return o.customLibtensorflow;
  }
  const host = o.tfjsMirror || env.TFJS_NODE_CDN_STORAGE || env.npm_config_TFJS_NODE_CDN_STORAGE || TFJS_DEFAULT_HOST;
  // Native code comes from there: never over plain HTTP.
  if (!/^https:\/\//i.test(host)) throw new StyleTransferError('bad-input', `the TensorFlow download mirror must be an https:// URL, got "${host}"`);
  return host;
}

/**
 * Installs `target`. Errors (StyleTransferError): 'backend' when a prerequisite is missing
 * (unless `force`), 'network' when the download host cannot be reached or npm fails to
 * download, 'not-found' when npm or Node cannot be found, 'cancelled'.
 */
export async function runGpuSetup(o: GpuSetupOptions, ctx: SetupContext = {}): Promise<GpuSetupResult> {
  const probe = ctx.probe ?? realSystem;
  const checks = await checkGpuPrerequisites(o.target, probe);
  const failed = checks.filter((c) => !c.ok);
  if (failed.length && !o.force) {
    throw new StyleTransferError('backend', `${o.target} cannot work on this computer yet: ${failed.map((c) => c.message).join('; ')}`);
  }
  const npm = findNpm(probe, { node: o.node, npmCli: o.npmCli });
  if (!npm) {
    throw new StyleTransferError('not-found', 'Node.js and npm were not found on PATH; install Node.js 20 or newer (it includes npm), or set fastStyleTransfer.gpu.nodePath to a node binary');
  }
  const reachable = ctx.reachable ?? checkReachable;
  // WebGPU needs only the npm registry, which npm reaches with its own configuration.
  const host = o.target === 'webgpu' ? undefined : o.target === 'onnx-cuda' ? NUGET_HOST : tfjsDownloadHost(o, probe.env);
  // Behind a proxy the installers go through it; a direct probe would fail for no reason.
  const proxied = !ctx.reachable && ['HTTPS_PROXY', 'https_proxy', 'GLOBAL_AGENT_HTTPS_PROXY'].some((k) => probe.env[k]);
  if (host) ctx.progress?.(`Checking that ${host} can be reached…`);
  const why = proxied || !host ? undefined : await reachable(host);
  if (why) {
    throw new StyleTransferError('network', o.target === 'onnx-cuda'
      ? `cannot reach ${host} (${why}): ONNX Runtime's CUDA provider is downloaded from NuGet. Check the connection or proxy (HTTPS_PROXY / GLOBAL_AGENT_HTTPS_PROXY)`
      : `cannot reach ${host} (${why}): ${o.target} downloads TensorFlow from there while it installs. Set a mirror in fastStyleTransfer.gpu.tfjsMirror (passed as TFJS_NODE_CDN_STORAGE), or the https:// URL of a libtensorflow archive in fastStyleTransfer.gpu.libtensorflowUrl`);
  }
  const prefix = path.join(o.storageDir, 'gpu');
  fs.mkdirSync(prefix, { recursive: true });
  const steps = installSteps({ target: o.target, prefix, npm, tfjsMirror: o.tfjsMirror, ortPackageDir: ctx.ortPackageDir ?? ortPackageDir() });
  const log = await runSteps(steps, prefix, 'GPU setup', ctx, (i) => {
    if (i === 1 && o.customLibtensorflow && (o.target === 'tfjs-node-gpu' || o.target === 'tfjs-node')) {
      const file = customBinaryPath(prefix, o.target);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify({ 'tf-lib': tfjsDownloadHost(o, probe.env) }, null, 2));
    }
  });
  return { target: o.target, checks, ...(o.target === 'onnx-cuda' ? {} : { moduleRoot: prefix }), log };
}

/**
 * Runs install steps one after another in `prefix` (no shell), reporting each title and the
 * output lines; returns the output. A failing step is one error: 'network' when a download
 * failed, else 'backend'; 'cancelled' on abort. `before(i)` runs before step i.
 */
export async function runSteps(steps: readonly Step[], prefix: string, what: string, ctx: SetupContext, before?: (i: number) => void): Promise<string> {
  const probe = ctx.probe ?? realSystem;
  let log = '';
  for (const [i, step] of steps.entries()) {
    if (ctx.signal?.aborted) throw new StyleTransferError('cancelled', `${what} cancelled`);
    before?.(i);
    ctx.progress?.(step.title);
    ctx.log?.(`$ ${[step.command, ...step.args].join(' ')}`);
    const r = await probe.run(step.command, step.args, {
      cwd: step.cwd ?? prefix, env: { ...probe.env, ...step.env }, signal: ctx.signal,
      onLine: (line) => { log += `${line}\n`; ctx.log?.(line); },
    });
    if (ctx.signal?.aborted) throw new StyleTransferError('cancelled', `${what} cancelled`);
    if (r.code !== 0) {
      const output = `${r.stderr}\n${r.stdout}`;
      const net = ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ETIMEDOUT', 'ENETUNREACH', 'ECONNRESET', 'socket hang up', 'getaddrinfo'].find((c) => output.includes(c));
      const last = output.split('\n').map((l) => l.trim()).filter(Boolean).slice(-3).join(' ');
      throw new StyleTransferError(net ? 'network' : 'backend', `${step.title} failed${r.error ? ` (${r.error})` : ` (exit code ${r.code})`}${net ? `: a download failed (${net})` : ''}: ${last.slice(0, 400)}`, output.slice(-4000));
    }
  }
  return log;
}
