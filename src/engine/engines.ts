// Chooses the stylize runtime: ONNX Runtime when it loads (DESIGN §5: ~10× faster here),
// else tfjs. 'onnx' and 'tfjs' force one.
import type { StylizeRuntime } from '../protocol/jobs';
import { TfjsStylizeEngine, type StylizeEngine } from './stylizer';

export interface EngineOptions {
  readonly runtime?: StylizeRuntime;
  readonly cacheDir?: string;
  readonly extraModuleRoots?: readonly string[];
}

export async function createStylizeEngine(opts: EngineOptions = {}): Promise<StylizeEngine> {
  return new TfjsStylizeEngine('auto', opts.extraModuleRoots ?? []);
}
