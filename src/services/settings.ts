// Typed access to the extension's settings (package.json → contributes.configuration).
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import {
  COLOR_MODES,
  OUTPUT_FORMATS,
  STYLIZE_LIMITS,
  STYLIZE_PRECISIONS,
  STYLIZE_RUNTIMES,
  TRAINING_BACKENDS,
  TRAINING_PRESETS,
  type ColorMode,
  type EngineSettings,
  type OutputFormat,
  type StylizePrecision,
  type StylizeRuntime,
  type TrainingPresetName,
} from '../protocol/jobs';
import { boolean, number, oneOf, orDefault, string } from '../protocol/validate';
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
// instead of breaking every command that reads the settings; numbers out of range are clamped.
const text = (v: unknown, d: string): string => orDefault(string({ allowEmpty: true }), v, d).trim();
const finite = number();

export function readSettings(scope?: vscode.Uri): Settings {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  const get = (key: string) => c.get<unknown>(key);
  return {
    outputFolder: text(get('outputFolder'), ''),
    outputFormat: orDefault(oneOf(OUTPUT_FORMATS), get('outputFormat'), 'same'),
    openResult: orDefault(boolean, get('openResult'), true),
    strength: Math.min(
      STYLIZE_LIMITS.strength.max,
      Math.max(STYLIZE_LIMITS.strength.min, orDefault(finite, get('strength'), 1)),
    ),
    preserveColors: orDefault(oneOf(COLOR_MODES), get('preserveColors'), 'none'),
    stylizeRuntime: orDefault(oneOf(STYLIZE_RUNTIMES), get('stylizeRuntime'), 'auto'),
    stylizePrecision: orDefault(oneOf(STYLIZE_PRECISIONS), get('stylizePrecision'), 'auto'),
    trainingBackend: orDefault(oneOf(TRAINING_BACKENDS), get('trainingBackend'), 'auto'),
    threads: Math.max(0, Math.floor(orDefault(finite, get('threads'), 0))),
    defaultPreset: orDefault(oneOf(TRAINING_PRESETS), get('defaultPreset'), 'quick'),
    vggWeightsPath: text(get('vggWeightsPath'), ''),
    stylesFolder: text(get('stylesFolder'), ''),
    maxInputMegapixels: Math.max(1, orDefault(finite, get('maxInputMegapixels'), 100)),
  };
}

export function onSettingsChanged(listener: () => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(SECTION)) listener();
  });
}

/**
 * A path setting from the user's own settings only: a workspace must not choose the binary
 * that decodes videos or runs npm (the settings are machine-scoped as well).
 */
export function userPathSetting(key: string): string | undefined {
  const v = vscode.workspace.getConfiguration(SECTION).inspect<unknown>(key)?.globalValue;
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
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
