// Typed access to the extension's settings (package.json → contributes.configuration).
import path from 'node:path';
import * as vscode from 'vscode';
import type { ColorMode, EngineSettings, OutputFormat, StylizePrecision, StylizeRuntime, TrainingPresetName } from '../protocol/jobs';

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

export function readSettings(scope?: vscode.Uri): Settings {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  return {
    outputFolder: c.get<string>('outputFolder', '').trim(),
    outputFormat: c.get<OutputFormat>('outputFormat', 'same'),
    openResult: c.get<boolean>('openResult', true),
    strength: Math.min(1, Math.max(0, c.get<number>('strength', 1))),
    preserveColors: c.get<ColorMode>('preserveColors', 'none'),
    stylizeRuntime: c.get<StylizeRuntime>('stylizeRuntime', 'auto'),
    stylizePrecision: c.get<StylizePrecision>('stylizePrecision', 'auto'),
    trainingBackend: c.get<EngineSettings['trainingBackend']>('trainingBackend', 'auto'),
    threads: Math.max(0, Math.floor(c.get<number>('threads', 0))),
    defaultPreset: c.get<TrainingPresetName>('defaultPreset', 'quick'),
    vggWeightsPath: c.get<string>('vggWeightsPath', '').trim(),
    stylesFolder: c.get<string>('stylesFolder', '').trim(),
    maxInputMegapixels: Math.max(1, c.get<number>('maxInputMegapixels', 100)),
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
  const expanded = setting.replace(/\$\{workspaceFolder\}/g, ws).replace(/^~(?=$|[\\/])/, process.env.HOME ?? '~');
  return path.isAbsolute(expanded) ? expanded : path.join(ws, expanded);
}

export function engineSettings(s: Settings, storage: string): EngineSettings {
  return {
    trainingBackend: s.trainingBackend,
    stylizeRuntime: s.stylizeRuntime,
    stylizePrecision: s.stylizePrecision,
    threads: s.threads,
    cacheDir: path.join(storage, 'cache'),
    extraModuleRoots: [path.join(storage, 'gpu')],
    maxInputPixels: Math.round(s.maxInputMegapixels * 1_000_000),
  };
}
