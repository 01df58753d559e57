// What the gallery's webviews cause in the output channel: refused messages (kept, the last 50,
// for diagnostics and tests) and the webview's own log lines, rate-limited so that a webview
// cannot flood the channel.
import type * as vscode from 'vscode';

/** Log lines a webview may cause: a burst of 40, then 4 a second (a flood is summarised). */
const LOG_BURST = 40;
const LOG_PER_SECOND = 4;
const KEPT_REJECTIONS = 50;

export class WebviewLog {
  /** The last rejected messages (newest last). */
  readonly rejections: string[] = [];
  private tokens = LOG_BURST;
  private refilled = Date.now();
  private suppressed = 0;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** A message from a webview was refused. */
  reject(reason: string): void {
    this.rejections.push(reason);
    if (this.rejections.length > KEPT_REJECTIONS) this.rejections.shift();
    this.write('error', `gallery: ${reason}`);
  }

  /** Writes to the output channel unless a webview floods it (then one summary line per burst). */
  write(level: 'info' | 'warn' | 'error', line: string): void {
    const now = Date.now();
    this.tokens = Math.min(LOG_BURST, this.tokens + ((now - this.refilled) / 1000) * LOG_PER_SECOND);
    this.refilled = now;
    if (this.tokens < 1) {
      this.suppressed++;
      return;
    }
    this.tokens--;
    if (this.suppressed) {
      this.log.warn(`gallery: ${this.suppressed} more messages from the webview were not logged (too many)`);
      this.suppressed = 0;
    }
    if (level === 'error') this.log.error(line);
    else if (level === 'warn') this.log.warn(line);
    else this.log.info(line);
  }
}
