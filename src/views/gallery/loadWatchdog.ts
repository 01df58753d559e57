// Reloads a webview that is visible but never says 'ready', then reports it. VS Code's webview
// host now and then fails to start a webview: in code-server, when an image preview (another
// webview) started at the same moment, the gallery's frame waited for its service worker to
// take control ("Found unexpected service worker controller … Waiting for controllerchange")
// and nothing came for minutes. The user would otherwise look at an empty panel. What a
// reload does is the controller's choice (a new panel, or the HTML set again). No vscode
// import: the controller passes what it needs.

export interface LoadWatch {
  /** True once the webview has said 'ready' (stops the watch). */
  readonly ready: () => boolean;
  /** A hidden webview is not loaded until it is shown, so it is not judged. */
  readonly visible: () => boolean;
  /** True once the webview is gone (stops the watch). */
  readonly disposed: () => boolean;
  /** Sets the webview's HTML again (a fresh nonce makes it new HTML, so it reloads). */
  readonly reload: () => void;
  readonly warn: (message: string) => void;
  readonly error: (message: string) => void;
  readonly what: string;
  readonly timeoutMs?: number;
  readonly maxReloads?: number;
}

export const LOAD_TIMEOUT_MS = 12_000;
export const MAX_RELOADS = 3;

/** Starts watching; returns a function that stops the watch and how many reloads it did. */
export function watchWebviewLoad(w: LoadWatch): { stop(): void; readonly reloads: number } {
  const timeoutMs = w.timeoutMs ?? LOAD_TIMEOUT_MS;
  const maxReloads = w.maxReloads ?? MAX_RELOADS;
  let reloads = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = () => {
    timer = undefined;
    if (w.disposed() || w.ready()) return;
    if (w.visible()) {
      if (reloads >= maxReloads) {
        w.error(`the ${w.what} did not load after ${maxReloads} reloads; close it and open it again`);
        return;
      }
      reloads++;
      w.warn(`the ${w.what} did not load within ${timeoutMs / 1000} s; reloading it (${reloads}/${maxReloads})`);
      w.reload();
    }
    timer = setTimeout(check, timeoutMs);
  };
  timer = setTimeout(check, timeoutMs);
  return {
    stop: () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    get reloads() {
      return reloads;
    },
  };
}
