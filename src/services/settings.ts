// Typed access to the extension's settings (package.json → contributes.configuration).
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { COLOR_MODES, OUTPUT_FORMATS, STYLIZE_PRECISIONS, STYLIZE_RUNTIMES, TRAINING_BACKENDS, TRAINING_PRESETS, type ColorMode, type EngineSettings, type OutputFormat, type StylizePrecision, type StylizeRuntime, type TrainingPresetName } from '../protocol/jobs';
import { expandFolderSetting } from '../shared/paths';

const SECTION = 'fastStyleTransfer';

export interface Settings {
  readonly outputFolder: string;
  readonly outputFormat: OutputFormat;
  readonly openResult: boolean;
  readonly strength: number;
  readonly preserveColors: ColorMode;
  readonly stylizeRuntime: StylizeRuntime;
  readonly stylizePrecision: StylizePrecision;
  readonly trainingBackend: EngineSettings['trainingBackend'];
  readonly threads: number;
  readonly defaultPreset: TrainingPresetName;
  readonly vggWeightsPath: string;
  readonly stylesFolder: string;
  readonly maxInputMegapixels: number;
}

// settings.json is edited by hand: a value of the wrong type falls back to the default
// instead of breaking every command that reads the settings.
const text = (v: unknown, d: string): string => (typeof v === 'string' ? v.trim() : d);
const number = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const flag = (v: unknown, d: boolean): boolean => (typeof v === 'boolean' ? v : d);
const oneOf = <T extends string>(v: unknown, values: readonly T[], d: T): T => ((values as readonly unknown[]).includes(v) ? (v as T) : d);

export function readSettings(scope?: vscode.Uri): Settings {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  const get = (key: string) => c.get<unknown>(key);
  return {
    outputFolder: text(get('outputFolder'), ''),
    outputFormat: oneOf(get('outputFormat'), OUTPUT_FORMATS, 'same'),
    openResult: flag(get('openResult'), true),
    strength: Math.min(1, Math.max(0, number(get('strength'), 1))),
    preserveColors: oneOf<ColorMode>(get('preserveColors'), COLOR_MODES, 'none'),
    stylizeRuntime: oneOf<StylizeRuntime>(get('stylizeRuntime'), STYLIZE_RUNTIMES, 'auto'),
    stylizePrecision: oneOf<StylizePrecision>(get('stylizePrecision'), STYLIZE_PRECISIONS, 'auto'),
    trainingBackend: oneOf<EngineSettings['trainingBackend']>(get('trainingBackend'), TRAINING_BACKENDS, 'auto'),
    threads: Math.max(0, Math.floor(number(get('threads'), 0))),
    defaultPreset: oneOf(get('defaultPreset'), TRAINING_PRESETS, 'quick'),
    vggWeightsPath: text(get('vggWeightsPath'), ''),
    stylesFolder: text(get('stylesFolder'), ''),
    maxInputMegapixels: Math.max(1, number(get('maxInputMegapixels'), 100)),
  };
}

export function onSettingsChanged(listener: () => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(SECTION)) listener();
  });
}

/**
 * The output folder for `input`: the setting with `${workspaceFolder}` replaced and relative
 * paths taken from the input's workspace folder; undefined = beside the input.
 */
export function outputFolderFor(input: vscode.Uri, setting: string): string | undefined {
  if (!setting) return undefined;
  const ws = vscode.workspace.getWorkspaceFolder(input)?.uri.fsPath ?? path.dirname(input.fsPath);
  // os.homedir(): Windows has no HOME (USERPROFILE), which left "~\\out" relative to the workspace.
  return expandFolderSetting(setting, ws, os.homedir(), path);
}

export function engineSettings(s: Settings, storage: string, bundledStyles?: string): EngineSettings {
  return {
    readOnlyRoots: bundledStyles ? [bundledStyles] : [],
    trainingBackend: s.trainingBackend,
    stylizeRuntime: s.stylizeRuntime,
    stylizePrecision: s.stylizePrecision,
    threads: s.threads,
    cacheDir: path.join(storage, 'cache'),
    extraModuleRoots: [path.join(storage, 'gpu')],
    maxInputPixels: Math.round(s.maxInputMegapixels * 1_000_000),
  };
}
