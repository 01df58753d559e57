// The status bar item: the compute runtime when idle, the running job otherwise; a click
// opens the output channel.
import * as vscode from 'vscode';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private runtime = '';
  private readonly jobs = new Map<number, string>();
  private nextId = 1;

  constructor() {
    this.item = vscode.window.createStatusBarItem('fastStyleTransfer.status', vscode.StatusBarAlignment.Left, 20);
    this.item.name = 'Fast Style Transfer';
    this.item.command = 'fastStyleTransfer.showOutput';
    this.render();
    this.item.show();
  }

  setRuntime(label: string): void {
    this.runtime = label;
    this.render();
  }

  /** Shows `text` while a job runs; returns an updater and a done function. */
  begin(text: string): { update(text: string): void; end(): void } {
    const id = this.nextId++;
    this.jobs.set(id, text);
    this.render();
    return {
      update: (t) => {
        if (this.jobs.has(id)) {
          this.jobs.set(id, t);
          this.render();
        }
      },
      end: () => {
        this.jobs.delete(id);
        this.render();
      },
    };
  }

  private render(): void {
    const running = [...this.jobs.values()];
    if (running.length) {
      this.item.text = `$(sync~spin) ${running[running.length - 1]}${running.length > 1 ? ` (+${running.length - 1})` : ''}`;
      this.item.tooltip = new vscode.MarkdownString(
        `**Fast Style Transfer** — running:\n\n${running.map((r) => `- ${r}`).join('\n')}\n\nClick for the log.`,
      );
    } else {
      this.item.text = '$(paintcan) Style';
      this.item.tooltip = new vscode.MarkdownString(
        `**Fast Style Transfer**${this.runtime ? `\n\nCompute: ${this.runtime}` : ''}\n\nClick for the log.`,
      );
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
