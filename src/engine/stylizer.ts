// Runs the transform network on one image with the fastest runtime available: ONNX Runtime
// (exported from the checkpoint by our own code) by default, tfjs as the fallback when ONNX
// Runtime cannot load or run. Loaded networks/sessions are cached per weights hash.
import { TransformNet } from '../model/transformNet';
import { stylizeWithTfjs } from '../model/stylize';
import type { FloatImage } from '../model/pixels';
import { StyleTransferError } from '../protocol/errors';
import { initTfjsBackend, type TfjsBackendPreference } from './backends';
import type { LoadedStyle } from './styles';

export interface StylizeEngine {
  /** e.g. "ONNX Runtime (cpu)" or "tfjs (wasm)". */
  readonly label: string;
  stylize(style: LoadedStyle, img: FloatImage): Promise<FloatImage>;
  dispose(): void;
}

/** tfjs path: one TransformNet per weights hash, kept while it is the most recent few. */
export class TfjsStylizeEngine implements StylizeEngine {
  private readonly nets = new Map<string, TransformNet>();
  label = 'tfjs';

  constructor(private readonly backend: TfjsBackendPreference = 'auto', private readonly extraModuleRoots: readonly string[] = []) {}

  async stylize(style: LoadedStyle, img: FloatImage): Promise<FloatImage> {
    const report = await initTfjsBackend(this.backend, { extraModuleRoots: this.extraModuleRoots });
    this.label = `tfjs (${report.name})`;
    let net = this.nets.get(style.hash);
    if (!net) {
      net = TransformNet.fromWeights(style.arch, style.weights);
      this.nets.set(style.hash, net);
      while (this.nets.size > 3) {
        const [oldest, n] = this.nets.entries().next().value as [string, TransformNet];
        n.dispose();
        this.nets.delete(oldest);
      }
    }
    try {
      return await stylizeWithTfjs(net, img);
    } catch (e) {
      throw memoryError(e, img) ?? e;
    }
  }

  dispose(): void {
    for (const n of this.nets.values()) n.dispose();
    this.nets.clear();
  }
}

/** Out-of-memory failures of any runtime become one clear 'image-too-large' error. */
export function memoryError(e: unknown, img: FloatImage): StyleTransferError | undefined {
  const msg = e instanceof Error ? e.message : String(e);
  if (/out of memory|memory access out of bounds|Cannot allocate|bad_alloc|Array buffer allocation failed|Invalid typed array length|RangeError: Array buffer|Aborted\(OOM\)/i.test(msg)) {
    return new StyleTransferError('image-too-large', `not enough memory to stylize a ${img.width}×${img.height} image in one piece; reduce the scale or use tiling`, msg);
  }
  return undefined;
}
