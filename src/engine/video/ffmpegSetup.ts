// "Set Up Video Support…", engine side: when no ffmpeg is on the PATH, npm installs
// @ffmpeg-installer/ffmpeg and @ffprobe-installer/ffprobe (static builds, one optional
// package per platform: @ffmpeg-installer/linux-x64 …) from the npm registry into
// <global storage>/video, with the install machinery of Set Up GPU Acceleration (gpuSetup.ts:
// npm run by Node, no shell, argument arrays). findFfmpeg (io/ffmpeg.ts) uses that copy when
// neither a given path nor the PATH has one.
import fs from 'node:fs';
import path from 'node:path';
import { findFfmpeg, installedFfmpegPaths, VIDEO_TOOLS_DIR, type FfmpegTools } from '../../io/ffmpeg';
import { StyleTransferError } from '../../protocol/errors';
import { realSystem } from '../gpuPrerequisites';
import { findNpm, npmInstallStep, runSteps, type SetupContext } from '../gpuSetup';

/** The versions installed (their platform packages carry a 2018 ffmpeg, N-47683, ~4.1, and ffprobe 5.x). */
export const FFMPEG_INSTALLER_VERSION = '1.1.0';
export const FFPROBE_INSTALLER_VERSION = '2.1.2';

export interface VideoSetupOptions {
  /** The extension's global storage; the packages go to <storage>/video. */
  readonly storageDir: string;
  /** A Node.js binary to run npm with (default: node on PATH). */
  readonly node?: string;
  readonly npmCli?: string;
}

export interface VideoSetupResult {
  readonly tools: FfmpegTools;
  readonly log: string;
}

/** Installs ffmpeg and ffprobe into the storage folder and checks that they run. */
export async function runVideoSetup(o: VideoSetupOptions, ctx: SetupContext = {}): Promise<VideoSetupResult> {
  const probe = ctx.probe ?? realSystem;
  const npm = findNpm(probe, { node: o.node, npmCli: o.npmCli });
  if (!npm)
    throw new StyleTransferError(
      'not-found',
      'Node.js and npm were not found on PATH; install Node.js 20 or newer (it includes npm), or set fastStyleTransfer.gpu.nodePath to a node binary',
    );
  const prefix = path.join(o.storageDir, VIDEO_TOOLS_DIR);
  fs.mkdirSync(prefix, { recursive: true });
  const pkgs = [
    `@ffmpeg-installer/ffmpeg@${FFMPEG_INSTALLER_VERSION}`,
    `@ffprobe-installer/ffprobe@${FFPROBE_INSTALLER_VERSION}`,
  ];
  const log = await runSteps(
    [npmInstallStep(npm, `Installing ${pkgs.join(' and ')} from the npm registry (about 60 MB)`, prefix, pkgs)],
    prefix,
    'Video setup',
    ctx,
  );
  const bins = installedFfmpegPaths(o.storageDir, probe.platform, probe.arch);
  for (const bin of [bins.ffmpeg, bins.ffprobe]) {
    if (!fs.existsSync(bin))
      throw new StyleTransferError(
        'backend',
        `npm installed no ${path.basename(bin)} for ${probe.platform}-${probe.arch} (${path.dirname(bin)} is missing): the installer packages have no build for this platform; install ffmpeg yourself and set fastStyleTransfer.ffmpegPath`,
      );
    // The packages' own install scripts (skipped: --ignore-scripts) would mark them executable.
    if (probe.platform !== 'win32') fs.chmodSync(bin, 0o755);
  }
  ctx.progress?.('Checking the installed ffmpeg…');
  return { tools: await findFfmpeg({ ffmpegPath: bins.ffmpeg, ffprobePath: bins.ffprobe }), log };
}
