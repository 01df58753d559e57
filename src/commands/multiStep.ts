// A small multi-step quick input (title, "step n of m", Back button), as VS Code's own
// multi-step flows do. Each step shows one QuickPick or InputBox and resolves with the
// choice, BACK, or undefined when dismissed.
import fs from 'node:fs';
import * as vscode from 'vscode';

export const BACK = Symbol('back');
export type StepResult<T> = T | typeof BACK | undefined;

export interface PickStep<T extends vscode.QuickPickItem> {
  readonly title: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly placeholder: string;
  readonly items: readonly T[];
  readonly activeItem?: T;
}

export function showPick<T extends vscode.QuickPickItem>(p: PickStep<T>): Promise<StepResult<T>> {
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<T>();
    qp.title = p.title;
    qp.step = p.step;
    qp.totalSteps = p.totalSteps;
    qp.placeholder = p.placeholder;
    qp.items = p.items;
    qp.matchOnDescription = true;
    qp.matchOnDetail = true;
    qp.ignoreFocusOut = true;
    if (p.activeItem) qp.activeItems = [p.activeItem];
    if (p.step > 1) qp.buttons = [vscode.QuickInputButtons.Back];
    let done = false;
    const finish = (v: StepResult<T>) => {
      if (!done) {
        done = true;
        resolve(v);
        qp.dispose();
      }
    };
    qp.onDidTriggerButton((b) => {
      if (b === vscode.QuickInputButtons.Back) finish(BACK);
    });
    qp.onDidAccept(() => finish(qp.selectedItems[0]));
    qp.onDidHide(() => finish(undefined));
    qp.show();
  });
}

export interface InputStep {
  readonly title: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly prompt: string;
  readonly value: string;
  readonly validate: (v: string) => string | undefined;
}

export function showInput(p: InputStep): Promise<StepResult<string>> {
  return new Promise((resolve) => {
    const box = vscode.window.createInputBox();
    box.title = p.title;
    box.step = p.step;
    box.totalSteps = p.totalSteps;
    box.prompt = p.prompt;
    box.value = p.value;
    box.ignoreFocusOut = true;
    if (p.step > 1) box.buttons = [vscode.QuickInputButtons.Back];
    box.validationMessage = p.validate(p.value);
    let done = false;
    const finish = (v: StepResult<string>) => {
      if (!done) {
        done = true;
        resolve(v);
        box.dispose();
      }
    };
    box.onDidChangeValue((v) => {
      box.validationMessage = p.validate(v);
    });
    box.onDidTriggerButton((b) => {
      if (b === vscode.QuickInputButtons.Back) finish(BACK);
    });
    box.onDidAccept(() => {
      if (!p.validate(box.value)) finish(box.value.trim());
    });
    box.onDidHide(() => finish(undefined));
    box.show();
  });
}

/** An entry of a path step: a file or folder offered by name. */
export interface PathItem extends vscode.QuickPickItem {
  readonly path?: string;
}

export interface PathStep {
  readonly title: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly placeholder: string;
  /** The first entry, e.g. "$(folder-opened) Choose a folder…", and the dialog it opens. */
  readonly browse: { readonly label: string; readonly dialog: vscode.OpenDialogOptions };
  /** A bundled sample, listed only when it exists. */
  readonly sample: PathItem & { readonly path: string };
  /** What the workspace offers, under a separator with this label. */
  readonly found: { readonly label: string; readonly items: readonly PathItem[] };
}

/**
 * A pick step over paths whose first entry opens a file dialog instead; a cancelled dialog shows the step
 * again. Resolves with the chosen path, BACK, or undefined when dismissed.
 */
export async function showPathPick(p: PathStep): Promise<StepResult<string>> {
  type I = PathItem & { browse?: boolean };
  const items: I[] = [
    { label: p.browse.label, browse: true },
    ...(fs.existsSync(p.sample.path) ? [p.sample] : []),
    ...(p.found.items.length ? [{ label: p.found.label, kind: vscode.QuickPickItemKind.Separator }] : []),
    ...p.found.items,
  ];
  for (;;) {
    const r = await showPick({
      title: p.title,
      step: p.step,
      totalSteps: p.totalSteps,
      placeholder: p.placeholder,
      items,
    });
    if (r === undefined || r === BACK) return r;
    if (!r.browse) return r.path;
    const picked = await vscode.window.showOpenDialog({ ...p.browse.dialog, canSelectMany: false });
    if (picked?.length) return picked[0].fsPath;
  }
}
