// Can ONNX Runtime's WebGPU provider (Dawn on Vulkan, Linux) find a real GPU here? Asked before
// any adapter is created: Dawn prints driver messages on stderr from native code (issue 14.4:
// "Vulkan shaderUniform*ArrayDynamicIndexing required…" from Mesa's lavapipe) and each attempt
// costs start-up time. The answer comes from the Vulkan loader's driver manifests (the files it
// would read, in its search order) and the GPU device nodes: a software driver (lavapipe,
// llvmpipe, SwiftShader) never counts, and a hardware driver counts only with a device to drive.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface VulkanDriver {
  readonly manifest: string;
  /** The driver library the manifest names ('' when unreadable). */
  readonly library: string;
  readonly software: boolean;
}

const SOFTWARE = /lvp|lavapipe|llvmpipe|softpipe|swiftshader/i;

const split = (v: string | undefined) => (v ?? '').split(':').filter(Boolean);

/** Manifest files and folders in the loader's order (Vulkan loader docs, "Driver discovery on Linux"). */
export function manifestLocations(env: NodeJS.ProcessEnv = process.env): string[] {
  const only = split(env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES);
  const added = split(env.VK_ADD_DRIVER_FILES);
  if (only.length) return [...added, ...only];
  const home = env.HOME ?? os.homedir();
  const configHome = env.XDG_CONFIG_HOME || path.join(home, '.config');
  const dataHome = env.XDG_DATA_HOME || path.join(home, '.local', 'share');
  const configDirs = split(env.XDG_CONFIG_DIRS).length ? split(env.XDG_CONFIG_DIRS) : ['/etc/xdg'];
  const dataDirs = split(env.XDG_DATA_DIRS).length ? split(env.XDG_DATA_DIRS) : ['/usr/local/share', '/usr/share'];
  return [
    ...added,
    ...[configHome, ...configDirs, '/etc', dataHome, ...dataDirs].map((d) => path.join(d, 'vulkan', 'icd.d')),
  ];
}

/** The Vulkan drivers the loader would see with `env`. */
export function vulkanDrivers(env: NodeJS.ProcessEnv = process.env): VulkanDriver[] {
  const files: string[] = [];
  for (const loc of manifestLocations(env)) {
    let st: fs.Stats;
    try {
      st = fs.statSync(loc);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      for (const f of fs.readdirSync(loc).sort()) if (f.endsWith('.json')) files.push(path.join(loc, f));
    } else if (st.isFile()) files.push(loc);
  }
  return files.map((manifest) => {
    let library = '';
    try {
      // Manifests are small; a larger or unreadable one names no driver we can judge.
      // A regular file only: a FIFO planted under a manifest name would block the read.
      const st = fs.statSync(manifest);
      if (st.isFile() && st.size < 65_536)
        library = String(
          (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { ICD?: { library_path?: unknown } }).ICD?.library_path ??
            '',
        );
    } catch {
      /* unreadable: library stays '' */
    }
    return {
      manifest,
      library,
      software: SOFTWARE.test(path.basename(manifest)) || SOFTWARE.test(path.basename(library)),
    };
  });
}

/** GPU device nodes a hardware Vulkan driver needs (DRM render nodes, NVIDIA's, WSL's). */
export function gpuDeviceNodes(devDir = '/dev'): string[] {
  const list = (d: string) => {
    try {
      return fs.readdirSync(d);
    } catch {
      return [];
    }
  };
  return [
    ...list(path.join(devDir, 'dri'))
      .filter((f) => /^renderD\d+$/.test(f))
      .map((f) => path.join(devDir, 'dri', f)),
    ...list(devDir)
      .filter((f) => /^nvidia\d+$/.test(f) || f === 'dxg')
      .map((f) => path.join(devDir, f)),
  ];
}

/**
 * Why Dawn would find no hardware Vulkan GPU (then WebGPU is not tried), or undefined when one
 * may exist. `env` and `devDir` are for tests.
 */
export function noHardwareVulkanReason(env: NodeJS.ProcessEnv = process.env, devDir = '/dev'): string | undefined {
  const drivers = vulkanDrivers(env);
  const hardware = drivers.filter((d) => !d.software);
  if (hardware.length === 0) {
    const soft = drivers.map((d) => path.basename(d.manifest));
    return soft.length
      ? `only software Vulkan drivers are installed (${soft.join(', ')}), slower than the CPU provider`
      : 'no Vulkan driver is installed';
  }
  if (gpuDeviceNodes(devDir).length === 0)
    return `no GPU device (/dev/dri/renderD*, /dev/nvidia*) for the Vulkan drivers ${hardware.map((d) => path.basename(d.manifest)).join(', ')}`;
  return undefined;
}
