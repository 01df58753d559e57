// Style pickers the commands share (the context itself is services/context.ts).
import * as vscode from 'vscode';
import type { CommandContext } from '../services/context';
import type { StyleSummary } from '../protocol/styles';

/** Styles that can be used (style.json read fine). */
export function usableStyles(ctx: CommandContext): StyleSummary[] {
  return ctx.store.all.filter((s) => !s.error);
}

/** A quick pick of styles with thumbnails; offers Train/Import when there are none. */
export async function pickStyle(ctx: CommandContext, title: string): Promise<StyleSummary | undefined> {
  await ctx.store.refresh();
  const styles = usableStyles(ctx);
  if (styles.length === 0) {
    const choice = await vscode.window.showInformationMessage(
      'There are no styles yet.',
      'Train a Style…',
      'Import Style…',
      'Download Pretrained Styles…',
    );
    if (choice === 'Train a Style…') await vscode.commands.executeCommand('fastStyleTransfer.train');
    if (choice === 'Import Style…') await vscode.commands.executeCommand('fastStyleTransfer.importStyle');
    if (choice === 'Download Pretrained Styles…')
      await vscode.commands.executeCommand('fastStyleTransfer.downloadPretrained');
    return undefined;
  }
  type Item = vscode.QuickPickItem & { style?: StyleSummary };
  const items: Item[] = [];
  let lastOrigin = '';
  for (const s of styles) {
    if (s.origin !== lastOrigin) {
      items.push({
        label: s.origin === 'bundled' ? 'Bundled' : s.origin === 'trained' ? 'Trained' : 'Imported',
        kind: vscode.QuickPickItemKind.Separator,
      });
      lastOrigin = s.origin;
    }
    items.push({
      label: s.name,
      description: [
        s.iteration ? `${s.iteration.toLocaleString('en-US')} iterations` : '',
        s.preset ? `${s.preset} preset` : '',
      ]
        .filter(Boolean)
        .join(' · '),
      iconPath: s.thumbnail ? vscode.Uri.file(s.thumbnail) : new vscode.ThemeIcon('symbol-color'),
      style: s,
    });
  }
  const pick = await vscode.window.showQuickPick(items, {
    title,
    placeHolder: 'Choose a style',
    matchOnDescription: true,
  });
  return pick?.style;
}
