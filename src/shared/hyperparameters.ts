// The allowed values of the numeric training hyperparameters: one table read where they arrive
// (train requests, checked at the worker boundary by src/protocol/jobs.ts) and where presets,
// overrides and the settings saved in a checkpoint are resolved (src/model/presets.ts).

export interface HyperparameterRange {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
}

export const HYPERPARAMETER_RANGES = {
  imageSize: { min: 16, max: 2048, integer: true },
  batchSize: { min: 1, max: 64, integer: true },
  epochs: { min: 0, max: 1000, integer: true },
  iterations: { min: 0, max: 10_000_000, integer: true },
  learningRate: { min: 1e-7, max: 1 },
  contentWeight: { min: 0, max: 1e9 },
  styleWeight: { min: 0, max: 1e12 },
  tvWeight: { min: 0, max: 1e9 },
  rangeWeight: { min: 0, max: 1e12 },
  styleSize: { min: 0, max: 4096, integer: true },
  cropScale: { min: 1, max: 16 },
  seed: { min: 0, max: 2 ** 31, integer: true },
  checkpointEvery: { min: 0, max: 10_000_000, integer: true },
  previewEvery: { min: 0, max: 10_000_000, integer: true },
} as const satisfies Readonly<Record<string, HyperparameterRange>>;

export type NumericHyperparameter = keyof typeof HYPERPARAMETER_RANGES;

/** A VGG layer name as the loss settings take it: relu2_2, conv1_1… */
export const VGG_LAYER_NAME = /^(relu|conv)\d_\d$/;

/** The transform network's shape a style may have (model/architecture.ts validateArchitecture). */
export const ARCHITECTURE_LIMITS = { maxFilters: 1024, maxResidualBlocks: 32 } as const;
export const UPSAMPLE_MODES = ['transpose', 'nearest'] as const;
export const BORDER_PADDINGS = ['reflect', 'zero'] as const;
