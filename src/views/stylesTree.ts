// The "Styles" tree in the activity bar: styles grouped as bundled / trained / imported, each
// with its thumbnail, iterations and age; the tooltip shows the last losses and dates.
import * as vscode from 'vscode';
import type { StyleOrigin, StyleSummary } from '../protocol/styles';
import type { StyleStore } from '../services/styleStore';
import type { TrainingMonitor } from '../services/trainingMonitor';

type Node = { kind: 'group'; origin: StyleOrigin } | { kind: 'style'; style: StyleSummary };

const GROUP_LABEL: Record<StyleOrigin, string> = { bundled: 'Bundled', trained: 'Trained', imported: 'Imported' };

export function relativeAge(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, (now - t) / 1000);
  if (s < 90) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400 * 1.5) return `${Math.round(s / 3600)} h ago`;
  if (s < 86400 * 45) return `${Math.round(s / 86400)} d ago`;
  return new Date(t).toISOString().slice(0, 10);
}

function fmt(n: number): string {
  return Math.abs(n) >= 1e4 || (Math.abs(n) < 1e-2 && n !== 0) ? n.toExponential(2) : n.toFixed(2);
}

export class StylesTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly subs: { dispose(): void }[] = [];

  constructor(
    private readonly store: StyleStore,
    private readonly training: TrainingMonitor,
  ) {
    this.subs.push(store.onDidChange(() => this.emitter.fire(undefined)));
    let lastStatus = '';
    this.subs.push(
      training.onDidChange((s) => {
        // Refresh when a run starts or ends (labels show "training…"), not on every step.
        if (s.status !== lastStatus) {
          lastStatus = s.status;
          this.emitter.fire(undefined);
        }
      }),
    );
  }

  getChildren(node?: Node): Node[] {
    if (!node) {
      const origins = (['bundled', 'trained', 'imported'] as const).filter((o) =>
        this.store.all.some((s) => s.origin === o),
      );
      return origins.map((origin) => ({ kind: 'group', origin }));
    }
    if (node.kind === 'group')
      return this.store.all.filter((s) => s.origin === node.origin).map((style) => ({ kind: 'style', style }));
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'group') {
      const item = new vscode.TreeItem(GROUP_LABEL[node.origin], vscode.TreeItemCollapsibleState.Expanded);
      item.id = `group:${node.origin}`;
      item.contextValue = 'group';
      return item;
    }
    const s = node.style;
    const item = new vscode.TreeItem(s.name, vscode.TreeItemCollapsibleState.None);
    item.id = `style:${s.id}`;
    const training = this.training.running && this.training.current?.checkpoint === s.id;
    const parts = [
      s.iteration ? `${s.iteration.toLocaleString('en-US')} it` : '',
      relativeAge(s.updatedAt ?? s.createdAt),
    ].filter(Boolean);
    item.description = s.error ? 'unusable' : training ? 'training…' : parts.join(' · ');
    item.iconPath = s.error
      ? new vscode.ThemeIcon('warning')
      : s.thumbnail
        ? vscode.Uri.file(s.thumbnail)
        : new vscode.ThemeIcon('symbol-color');
    const md = new vscode.MarkdownString(undefined, true);
    md.supportHtml = false;
    md.appendMarkdown(`**${s.name.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&')}** — ${s.origin}\n\n`);
    if (s.error) md.appendMarkdown(`$(warning) ${s.error}\n\n`);
    if (s.iteration) md.appendMarkdown(`Iterations: ${s.iteration.toLocaleString('en-US')}\n\n`);
    if (s.lastLosses)
      md.appendMarkdown(
        `Losses: total ${fmt(s.lastLosses.total)} · content ${fmt(s.lastLosses.content)} · style ${fmt(s.lastLosses.style)} · tv ${fmt(s.lastLosses.tv)}\n\n`,
      );
    if (s.architecture)
      md.appendMarkdown(
        `Network: ${s.architecture.filters.join('/')} filters, ${s.architecture.residualBlocks} residual blocks${s.preset ? ` (${s.preset} preset)` : ''}\n\n`,
      );
    if (s.createdAt) md.appendMarkdown(`Created: ${new Date(s.createdAt).toLocaleString()}\n\n`);
    if (s.updatedAt) md.appendMarkdown(`Updated: ${new Date(s.updatedAt).toLocaleString()}\n\n`);
    md.appendMarkdown(`\`${s.id}\``);
    item.tooltip = md;
    item.contextValue = [
      'style',
      s.origin,
      s.resumable && !training ? 'resumable' : '',
      s.editable && !training ? 'editable' : '',
    ]
      .filter(Boolean)
      .join('.');
    if (!s.error)
      item.command = { command: 'fastStyleTransfer.openGalleryForStyle', title: 'Open in Gallery', arguments: [s.id] };
    return item;
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.emitter.dispose();
  }
}
