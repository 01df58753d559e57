// What the training and engine tests set up alike: engine settings with the usual defaults, and a
// small training job on the shared Starry Night and Kodak photos.
import path from 'node:path';
import {
  DEFAULT_MAX_INPUT_PIXELS,
  type EngineSettings,
  type TrainingOverrides,
  type TrainOptions,
} from '../../src/protocol/jobs';
import { shared, tempDir } from './paths';

/** Engine settings on `trainingBackend`: stylize 'auto', all threads, a fresh cache folder, no extra modules. */
export function engineSettings(
  trainingBackend: EngineSettings['trainingBackend'],
  over: Partial<EngineSettings> = {},
): EngineSettings {
  return {
    trainingBackend,
    stylizeRuntime: 'auto',
    threads: 0,
    cacheDir: over.cacheDir ?? tempDir(),
    extraModuleRoots: [],
    maxInputPixels: DEFAULT_MAX_INPUT_PIXELS,
    ...over,
  };
}

/** Training Starry Night (quick preset, these overrides) on the Kodak photos into `root`/`name`. */
export function trainOptions(
  root: string,
  name: string,
  overrides: TrainingOverrides,
  extra: Partial<TrainOptions> = {},
): TrainOptions {
  return {
    styleImage: shared('redistributable', 'starry_night.jpg'),
    dataDir: shared('content', 'kodak'),
    output: path.join(root, name),
    name,
    preset: 'quick',
    vggPath: shared('vgg19-keras-block1-3'),
    overrides,
    ...extra,
  };
}
