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
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { StyleTransferError } from '../protocol/errors';
import type { GpuTarget } from '../protocol/jobs';
import {
  checkGpuPrerequisites,
  realSystem,
  TFJS_NODE_VERSION,
  WEBGPU_PACKAGE_VERSION,
  type PrerequisiteCheck,
  type SystemProbe,
} from './gpuPrerequisites';

export type { GpuTarget };
export const TFJS_WEBGPU_VERSION = '4.22.0';
export const TFJS_DEFAULT_HOST = 'https://storage.googleapis.com/';
export const NUGET_HOST = 'https://api.nuget.org/';

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
export function findNpm(
  probe: SystemProbe,
  hint: { node?: string; npmCli?: string } = {},
): { node: string; npmCli: string } | undefined {
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
    : [
        join(dir, '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
        join(dir, 'node_modules', 'npm', 'bin', 'npm-cli.js'),
        '/usr/share/nodejs/npm/bin/npm-cli.js',
        '/usr/lib/node_modules/npm/bin/npm-cli.js',
      ];
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
export function npmInstallStep(
  npm: { node: string; npmCli: string },
  title: string,
  prefix: string,
  pkgs: readonly string[],
): Step {
  return {
    title,
    command: npm.node,
    args: [
      npm.npmCli,
      'install',
      '--prefix',
      prefix,
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      ...pkgs,
    ],
    env: { npm_config_update_notifier: 'false' },
  };
}

/** The steps that install `target`, without running them. */
export function installSteps(o: InstallOptions): Step[] {
  const npm = (title: string, args: string[], env: Record<string, string> = {}): Step => ({
    title,
    command: o.npm.node,
    args: [o.npm.npmCli, ...args],
    env: { npm_config_update_notifier: 'false', ...env },
  });
  if (o.target === 'onnx-cuda') {
    if (!o.ortPackageDir)
      throw new StyleTransferError(
        'not-found',
        'onnxruntime-node is not installed with the extension, so its CUDA provider cannot be added',
      );
    return [
      {
        title: "Downloading ONNX Runtime's CUDA provider from NuGet (about 400 MB)",
        command: o.npm.node,
        args: [path.join(o.ortPackageDir, 'script', 'install.js')],
        env: { ONNXRUNTIME_NODE_INSTALL: 'cuda12' },
        cwd: o.ortPackageDir,
      },
    ];
  }
  if (o.target === 'webgpu') {
    // Both packages come whole from the npm registry (Dawn's binaries are inside webgpu); no
    // install script is needed (webgpu's only clears a macOS quarantine flag npm never sets).
    const pkgs = [`webgpu@${WEBGPU_PACKAGE_VERSION}`, `@tensorflow/tfjs-backend-webgpu@${TFJS_WEBGPU_VERSION}`];
    return [
      npmInstallStep(o.npm, `Installing ${pkgs.join(' and ')} from the npm registry (about 130 MB)`, o.prefix, pkgs),
    ];
  }
  const pkg = `@tensorflow/${o.target}@${o.version ?? TFJS_NODE_VERSION}`;
  const mirrorEnv: Record<string, string> = o.tfjsMirror
    ? { TFJS_NODE_CDN_STORAGE: o.tfjsMirror.endsWith('/') ? o.tfjsMirror : `${o.tfjsMirror}/` }
    : {};
  return [
    // The package and its JavaScript dependencies first, without its download script…
    npmInstallStep(o.npm, `Installing ${pkg} from the npm registry`, o.prefix, [pkg]),
    // …then the script that downloads libtensorflow (~400 MB for the GPU build) and the addon.
    npm(
      `Downloading TensorFlow ${o.target === 'tfjs-node-gpu' ? '(GPU build, about 400 MB)' : '(about 100 MB)'}`,
      ['rebuild', '--prefix', o.prefix, `@tensorflow/${o.target}`],
      mirrorEnv,
    ),
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
    try {
      u = new URL(url);
    } catch {
      resolve(`"${url}" is not a URL`);
      return;
    }
    if (u.protocol !== 'https:') {
      resolve(`"${url}" is not an https:// URL`);
      return;
    }
    const req = https.request(u, { method: 'HEAD', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(undefined);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(`no answer within ${timeoutMs / 1000} s`);
    });
    req.on('error', (e: NodeJS.ErrnoException) =>
      resolve(e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message),
    );
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
export function tfjsDownloadHost(
  o: Pick<GpuSetupOptions, 'tfjsMirror' | 'customLibtensorflow'>,
  env: NodeJS.ProcessEnv,
): string {
  if (o.customLibtensorflow) {
    // tfjs-node's install script fetches "tf-lib" with https.get only.
    if (!/^https:\/\//i.test(o.customLibtensorflow))
      throw new StyleTransferError(
        'bad-input',
        `the libtensorflow archive must be an https:// URL (tfjs-node's installer downloads it), got "${o.customLibtensorflow}"`,
      );
    return o.customLibtensorflow;
  }
  const host = o.tfjsMirror || env.TFJS_NODE_CDN_STORAGE || env.npm_config_TFJS_NODE_CDN_STORAGE || TFJS_DEFAULT_HOST;
  // Native code comes from there: never over plain HTTP.
  if (!/^https:\/\//i.test(host))
    throw new StyleTransferError('bad-input', `the TensorFlow download mirror must be an https:// URL, got "${host}"`);
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
    throw new StyleTransferError(
      'backend',
      `${o.target} cannot work on this computer yet: ${failed.map((c) => c.message).join('; ')}`,
    );
  }
  const npm = findNpm(probe, { node: o.node, npmCli: o.npmCli });
  if (!npm) {
    throw new StyleTransferError(
      'not-found',
      'Node.js and npm were not found on PATH; install Node.js 20 or newer (it includes npm), or set fastStyleTransfer.gpu.nodePath to a node binary',
    );
  }
  const reachable = ctx.reachable ?? checkReachable;
  // WebGPU needs only the npm registry, which npm reaches with its own configuration.
  const host =
    o.target === 'webgpu' ? undefined : o.target === 'onnx-cuda' ? NUGET_HOST : tfjsDownloadHost(o, probe.env);
  // Behind a proxy the installers go through it; a direct probe would fail for no reason.
  const proxied =
    !ctx.reachable && ['HTTPS_PROXY', 'https_proxy', 'GLOBAL_AGENT_HTTPS_PROXY'].some((k) => probe.env[k]);
  if (host) ctx.progress?.(`Checking that ${host} can be reached…`);
  const why = proxied || !host ? undefined : await reachable(host);
  if (why) {
    throw new StyleTransferError(
      'network',
      o.target === 'onnx-cuda'
        ? `cannot reach ${host} (${why}): ONNX Runtime's CUDA provider is downloaded from NuGet. Check the connection or proxy (HTTPS_PROXY / GLOBAL_AGENT_HTTPS_PROXY)`
        : `cannot reach ${host} (${why}): ${o.target} downloads TensorFlow from there while it installs. Set a mirror in fastStyleTransfer.gpu.tfjsMirror (passed as TFJS_NODE_CDN_STORAGE), or the https:// URL of a libtensorflow archive in fastStyleTransfer.gpu.libtensorflowUrl`,
    );
  }
  const prefix = path.join(o.storageDir, 'gpu');
  fs.mkdirSync(prefix, { recursive: true });
  const steps = installSteps({
    target: o.target,
    prefix,
    npm,
    tfjsMirror: o.tfjsMirror,
    ortPackageDir: ctx.ortPackageDir ?? ortPackageDir(),
  });
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
export async function runSteps(
  steps: readonly Step[],
  prefix: string,
  what: string,
  ctx: SetupContext,
  before?: (i: number) => void,
): Promise<string> {
  const probe = ctx.probe ?? realSystem;
  let log = '';
  for (const [i, step] of steps.entries()) {
    if (ctx.signal?.aborted) throw new StyleTransferError('cancelled', `${what} cancelled`);
    before?.(i);
    ctx.progress?.(step.title);
    ctx.log?.(`$ ${[step.command, ...step.args].join(' ')}`);
    const r = await probe.run(step.command, step.args, {
      cwd: step.cwd ?? prefix,
      env: { ...probe.env, ...step.env },
      signal: ctx.signal,
      onLine: (line) => {
        log += `${line}\n`;
        ctx.log?.(line);
      },
    });
    if (ctx.signal?.aborted) throw new StyleTransferError('cancelled', `${what} cancelled`);
    if (r.code !== 0) {
      const output = `${r.stderr}\n${r.stdout}`;
      const net = [
        'ENOTFOUND',
        'EAI_AGAIN',
        'ECONNREFUSED',
        'ETIMEDOUT',
        'ENETUNREACH',
        'ECONNRESET',
        'socket hang up',
        'getaddrinfo',
      ].find((c) => output.includes(c));
      const last = output
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .slice(-3)
        .join(' ');
      throw new StyleTransferError(
        net ? 'network' : 'backend',
        `${step.title} failed${r.error ? ` (${r.error})` : ` (exit code ${r.code})`}${net ? `: a download failed (${net})` : ''}: ${last.slice(0, 400)}`,
        output.slice(-4000),
      );
    }
  }
  return log;
}
