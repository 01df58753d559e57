// The page's one handle on VS Code: messages to the extension host (the typed protocol of
// src/protocol/gallery.ts) and the state VS Code keeps while a hidden webview is discarded.
// acquireVsCodeApi may be called once per page, so every component goes through here.
import type { WebviewToHost } from '../../src/protocol/gallery';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;
const vscode = acquireVsCodeApi();

export const post = (m: WebviewToHost): void => vscode.postMessage(m);
export const storedState = (): unknown => vscode.getState();
export const storeState = (state: unknown): void => vscode.setState(state);
