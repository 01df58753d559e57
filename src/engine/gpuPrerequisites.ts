// GPU setup, the machine side: the system probe (the one place that spawns nvidia-smi, ldconfig,
// npm: no shell) and the prerequisite checks of each target (split from gpuSetup.ts, which installs).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { GpuTarget } from '../protocol/jobs';

export const TFJS_NODE_VERSION = '4.22.0';
/** The WebGPU packages (webgpuBackend.ts): Dawn for Node, and tfjs's WebGPU kernels for our tfjs-core. */
export const WEBGPU_PACKAGE_VERSION = '0.6.2';

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly error?: string;
}

/** The machine, as the checks see it. */
export interface SystemProbe {
  readonly platform: NodeJS.Platform;
  readonly arch: string;
  readonly env: NodeJS.ProcessEnv;
  exists(file: string): boolean;
  readFile(file: string): string | undefined;
  /** Runs `command` with `args` (no shell); never throws. */
  run(
    command: string,
    args: readonly string[],
    opts?: {
      timeoutMs?: number;
      cwd?: string;
      env?: NodeJS.ProcessEnv;
      onLine?: (line: string) => void;
      signal?: AbortSignal;
    },
  ): Promise<RunResult>;
}

export function runProcess(
  command: string,
  args: readonly string[],
  opts: {
    timeoutMs?: number;
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    onLine?: (line: string) => void;
    signal?: AbortSignal;
  } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '',
      stderr = '',
      pending = '';
    let child;
    try {
      child = spawn(command, [...args], {
        cwd: opts.cwd,
        env: opts.env,
        shell: false,
        windowsHide: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
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
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      feed(d.toString());
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      feed(d.toString());
    });
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
  readFile: (f) => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch {
      return undefined;
    }
  },
  run: runProcess,
};

export interface PrerequisiteCheck {
  readonly id: 'platform' | 'driver' | 'cuda' | 'cudnn' | 'vulkan';
  readonly ok: boolean;
  /** One precise sentence: what was found, or what is missing and what to do. */
  readonly message: string;
}

/** Shared libraries each target needs, per platform. */
const LIBRARIES: Record<
  'tfjs-node-gpu' | 'onnx-cuda',
  { cuda: { linux: string; win32: string; version: string }; cudnn: { linux: string; win32: string; version: string } }
> = {
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
  const envDirs = (
    probe.platform === 'win32' ? (probe.env.PATH ?? probe.env.Path ?? '') : (probe.env.LD_LIBRARY_PATH ?? '')
  )
    .split(sep)
    .filter(Boolean);
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
    for (const d of [
      '/usr/local/cuda/lib64',
      '/usr/local/cuda/targets/x86_64-linux/lib',
      '/usr/lib/x86_64-linux-gnu',
      '/usr/lib64',
      '/opt/cuda/lib64',
    ]) {
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
      return {
        version: m[1],
        ...(smi.code === 0 && smi.stdout.trim() ? { gpus: smi.stdout.trim().split('\n').join(', ') } : {}),
      };
    }
  }
  const smi = await probe.run('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], {
    timeoutMs: 15_000,
  });
  if (smi.code === 0 && smi.stdout.trim()) {
    const rows = smi.stdout
      .trim()
      .split('\n')
      .map((r) => r.split(',').map((c) => c.trim()));
    return { version: rows[0][1] ?? 'unknown', gpus: rows.map((r) => r[0]).join(', ') };
  }
  return undefined;
}

/** Platforms the webgpu package ships Dawn for. */
const WEBGPU_PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];

/** The checks for `target`, each with its message (tfjs-node, the CPU build, needs none). */
export async function checkGpuPrerequisites(
  target: GpuTarget,
  probe: SystemProbe = realSystem,
): Promise<PrerequisiteCheck[]> {
  if (target === 'webgpu') {
    const platform = `${probe.platform}-${probe.arch}`;
    const supported = WEBGPU_PLATFORMS.includes(platform);
    const checks: PrerequisiteCheck[] = [
      {
        id: 'platform',
        ok: supported,
        message: supported
          ? `webgpu ${WEBGPU_PACKAGE_VERSION} ships Dawn for ${platform}`
          : `webgpu ${WEBGPU_PACKAGE_VERSION} has no Dawn build for ${platform}`,
      },
    ];
    // Dawn reaches a GPU through Vulkan on Linux (Metal and Direct3D 12 come with macOS and Windows).
    if (supported && probe.platform === 'linux') {
      const loader = await findSharedLibrary('libvulkan.so.1', probe);
      checks.push(
        loader
          ? { id: 'vulkan', ok: true, message: `Vulkan loader: ${loader}` }
          : {
              id: 'vulkan',
              ok: false,
              message:
                "the Vulkan loader (libvulkan.so.1) is missing: WebGPU reaches the GPU through Vulkan on Linux. Install it (Debian/Ubuntu: libvulkan1) and your GPU's Vulkan driver (mesa-vulkan-drivers for AMD and Intel; NVIDIA's driver brings its own)",
            },
      );
    }
    return checks;
  }
  if (target === 'tfjs-node') {
    const supported =
      (probe.platform === 'linux' || probe.platform === 'win32' || probe.platform === 'darwin') &&
      (probe.arch === 'x64' || (probe.platform !== 'win32' && probe.arch === 'arm64'));
    return [
      {
        id: 'platform',
        ok: supported,
        message: supported
          ? `${probe.platform}-${probe.arch} has a prebuilt native TensorFlow`
          : `@tensorflow/tfjs-node ${TFJS_NODE_VERSION} has no prebuilt TensorFlow for ${probe.platform}-${probe.arch}`,
      },
    ];
  }
  const checks: PrerequisiteCheck[] = [];
  const what =
    target === 'tfjs-node-gpu' ? `@tensorflow/tfjs-node-gpu ${TFJS_NODE_VERSION}` : "ONNX Runtime's CUDA provider";
  const platformOk = (probe.platform === 'linux' || probe.platform === 'win32') && probe.arch === 'x64';
  checks.push({
    id: 'platform',
    ok: platformOk,
    message: platformOk
      ? `${probe.platform}-x64 is supported by ${what}`
      : `${what} runs only on Linux and Windows on x64 (this is ${probe.platform}-${probe.arch}); WebGPU is the GPU path here`,
  });
  if (!platformOk) return checks;
  const driver = await nvidiaDriver(probe);
  checks.push(
    driver
      ? { id: 'driver', ok: true, message: `NVIDIA driver ${driver.version}${driver.gpus ? ` (${driver.gpus})` : ''}` }
      : {
          id: 'driver',
          ok: false,
          message:
            probe.platform === 'linux'
              ? 'no NVIDIA driver: /proc/driver/nvidia/version is missing and nvidia-smi did not run. Install the NVIDIA driver (450 or newer) for your GPU'
              : 'no NVIDIA driver: nvidia-smi did not run. Install the NVIDIA driver (450 or newer) for your GPU',
        },
  );
  const libs = LIBRARIES[target];
  const where =
    probe.platform === 'win32'
      ? 'on PATH or in %CUDA_PATH%\\bin'
      : "in LD_LIBRARY_PATH, ldconfig's cache (ldconfig -p) or /usr/local/cuda/lib64";
  for (const id of ['cuda', 'cudnn'] as const) {
    const lib = probe.platform === 'win32' ? libs[id].win32 : libs[id].linux;
    const found = await findSharedLibrary(lib, probe);
    checks.push(
      found
        ? { id, ok: true, message: `${libs[id].version}: ${found}` }
        : {
            id,
            ok: false,
            message: `${libs[id].version} is missing: ${lib} was not found ${where}. ${what} needs ${libs.cuda.version} and ${libs.cudnn.version}${id === 'cudnn' ? ' (https://developer.nvidia.com/cudnn)' : ' (https://developer.nvidia.com/cuda-toolkit-archive)'}; if they are installed elsewhere, add that folder to ${probe.platform === 'win32' ? 'PATH' : 'LD_LIBRARY_PATH'} before starting VS Code`,
          },
    );
  }
  return checks;
}
