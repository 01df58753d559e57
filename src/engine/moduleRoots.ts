// Optional packages (tfjs-node(-gpu), the WebGPU packages) are looked up first in extra
// folders — where "Set Up GPU Acceleration…" installs them — then beside the bundle or the
// sources. One lookup for loading (backends.ts) and for resolving (webgpuBackend.ts).
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * `use(require)` with a require function rooted in each of `roots`, then in this module's
 * own node_modules; the first that does not throw wins. Throws the last error otherwise.
 */
export function fromModuleRoots<T>(roots: readonly string[], use: (req: NodeJS.Require) => T): T {
  const errors: string[] = [];
  for (const base of [...roots.map((r) => path.join(r, 'noop.js')), __filename]) {
    try {
      return use(createRequire(base));
    } catch (e) {
      errors.push((e as Error).message.split('\n')[0]);
    }
  }
  throw new Error(errors[errors.length - 1]);
}
