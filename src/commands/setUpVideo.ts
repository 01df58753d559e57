// Palette → "Set Up Video Support…": when no working ffmpeg is found (the setting
// fastStyleTransfer.ffmpegPath, then the PATH), the worker installs one from the npm registry
// into the extension's storage (engine/video/ffmpegSetup.ts), with a cancellable progress
// notification; the video jobs find it there.
import * as vscode from 'vscode';
import { codeOf, messageOf } from '../protocol/errors';
import type { CommandContext } from '../services/context';
import { userPathSetting } from '../services/settings';

const TITLE = 'Set Up Video Support';

/** Runs the command; resolves to true when a working ffmpeg is there afterwards. */
export async function setUpVideoCommand(ctx: CommandContext): Promise<boolean> {
  try {
    const r = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: TITLE, cancellable: true },
      (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        return ctx.engine.request(
          {
            type: 'setUpVideo',
            options: {
              storageDir: ctx.storageDir,
              ffmpegPath: userPathSetting('ffmpegPath'),
              node: userPathSetting('gpu.nodePath'),
            },
          },
          {
            signal: controller.signal,
            onProgress: (p) => {
              if (p.type === 'phase') progress.report({ message: p.message });
            },
          },
        );
      },
    );
    ctx.log.info(`video support: ffmpeg ${r.version} at ${r.ffmpeg}${r.installed ? ' (installed)' : ''}`);
    void vscode.window.showInformationMessage(
      r.installed
        ? `Installed ffmpeg ${r.version}: videos can be stylized now.`
        : `ffmpeg ${r.version} is already there (${r.ffmpeg}): videos can be stylized.`,
    );
    return true;
  } catch (e) {
    if (codeOf(e) === 'cancelled') {
      void vscode.window.showInformationMessage('Video setup cancelled.');
      return false;
    }
    ctx.log.error(`video setup failed: ${messageOf(e)}`);
    void vscode.window
      .showErrorMessage(`Could not set up video support: ${messageOf(e)}`, 'Show Log')
      .then((a) => a && ctx.log.show());
    return false;
  }
}
