// The gallery's clip jobs: what its frame picker needs to know of a clip (clipInfo), one frame
// of it to preview (clipFrame, stylized by the ordinary preview job), and the stylized clip
// made playable in a webview (clipPlayback). Videos and animated PNGs go through ffmpeg;
// animated GIF and WebP through sharp (ffmpeg's WebP decoder has no animation).
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { isAnimatedImage } from '../../io/animated';
import { delayMs, isApngFile, readApngAnimation } from '../../io/apng';
import { findFfmpeg, probeVideo, type FfmpegTools, type VideoInfo } from '../../io/ffmpeg';
import { isVideoFile } from '../../io/formats';
import { extractFrame, previewFrames, webmEncoder, writeWebmPreview } from '../../io/videoFrames';
import { StyleTransferError } from '../../protocol/errors';
import type { ClipInfo, ClipPlayback, ClipToolsOptions, EncodedImage } from '../../protocol/jobs';

/** Longest side of the WebM the gallery plays, and the longest stretch of the clip it holds. */
const PLAYBACK_MAX_SIDE = 640;
const PLAYBACK_MAX_SECONDS = 120;
/** Largest animated image sent to the webview as it is. */
const PLAYBACK_MAX_IMAGE_BYTES = 48 * 1024 * 1024;

const MIME: Readonly<Record<string, string>> = { gif: 'image/gif', webp: 'image/webp', png: 'image/png' };

function tools(o: ClipToolsOptions): Promise<FfmpegTools> {
  return findFfmpeg({ ffmpegPath: o.ffmpegPath, storageDir: o.videoToolsDir });
}

/**
 * ffprobe's answer per file (path, size and time of change), the last few: it counts the
 * packets of the whole file, which the frame picker's every move would otherwise repeat.
 */
const probed = new Map<string, VideoInfo>();
const PROBES_KEPT = 8;

async function probeCached(t: FfmpegTools, file: string, signal?: AbortSignal): Promise<VideoInfo> {
  const st = await fs.stat(file);
  const key = `${file}|${st.size}|${st.mtimeMs}`;
  const known = probed.get(key);
  if (known) return known;
  const info = await probeVideo(t, file, { signal });
  probed.set(key, info);
  while (probed.size > PROBES_KEPT) probed.delete(probed.keys().next().value as string);
  return info;
}

async function viaFfmpeg(file: string): Promise<boolean> {
  return isVideoFile(file) || (await isApngFile(file));
}

/** The frames of an animated GIF or WebP and their delays (ms), from its header. */
async function animatedMeta(file: string) {
  const meta = await sharp(file, { animated: true, limitInputPixels: false }).metadata();
  const pages = meta.pages ?? 1;
  const delays = meta.delay?.length === pages ? meta.delay : Array.from({ length: pages }, () => 100);
  return { meta, pages, delays };
}

/** Kind, duration, frames, rate and size of `file`; 'still' for an image that is not animated. */
export async function clipInfo(file: string, o: ClipToolsOptions, signal?: AbortSignal): Promise<ClipInfo> {
  if (await viaFfmpeg(file)) {
    const info = await probeCached(await tools(o), file, signal);
    // ffprobe guesses an APNG's duration from the rate of its first frames; its delays tell.
    const apng = isVideoFile(file) ? undefined : await readApngAnimation(file);
    const duration = apng ? apng.delays.reduce((s, d) => s + delayMs(d), 0) / 1000 : info.duration;
    return {
      kind: 'video',
      duration,
      frameCount: info.frameCount,
      fps: apng && duration > 0 ? info.frameCount / duration : info.fps,
      width: info.width,
      height: info.height,
    };
  }
  if (await isAnimatedImage(file)) {
    const { meta, pages, delays } = await animatedMeta(file);
    const duration = delays.reduce((a, b) => a + b, 0) / 1000;
    return {
      kind: 'animated',
      duration,
      frameCount: pages,
      fps: duration > 0 ? pages / duration : 10,
      width: meta.width ?? 0,
      height: meta.pageHeight ?? meta.height ?? 0,
    };
  }
  const meta = await sharp(file).metadata();
  return { kind: 'still', duration: 0, frameCount: 1, fps: 0, width: meta.width ?? 0, height: meta.height ?? 0 };
}

/** The frame of `file` shown at `seconds`, as PNG bytes (a still image: the image itself). */
export async function clipFrame(
  file: string,
  seconds: number,
  o: ClipToolsOptions,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  if (await viaFfmpeg(file)) {
    const t = await tools(o);
    return extractFrame(t, file, await probeCached(t, file, signal), seconds, { signal });
  }
  if (await isAnimatedImage(file)) {
    const { delays } = await animatedMeta(file);
    let page = 0;
    for (let t = delays[0] / 1000; page < delays.length - 1 && t <= seconds; t += delays[++page] / 1000);
    return sharp(file, { page, pages: 1, limitInputPixels: false }).png().toBuffer();
  }
  return fs.readFile(file);
}

/** Makes the stylized clip `file` playable in a webview (see ClipPlayback). */
export async function clipPlayback(
  file: string,
  targetDir: string,
  o: ClipToolsOptions,
  signal?: AbortSignal,
): Promise<ClipPlayback> {
  if (!isVideoFile(file)) {
    // Animated GIF, WebP and PNG play in an <img> as they are.
    const meta = await sharp(file).metadata();
    const bytes = await fs.readFile(file);
    if (bytes.length > PLAYBACK_MAX_IMAGE_BYTES)
      throw new StyleTransferError('image-too-large', `${file} is too large to play in the gallery`);
    return {
      kind: 'image',
      image: {
        bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        mime: MIME[meta.format ?? ''] ?? 'application/octet-stream',
        width: meta.width ?? 0,
        height: meta.pageHeight ?? meta.height ?? 0,
      },
    };
  }
  const t = await tools(o);
  const encoder = await webmEncoder(t);
  if (encoder) {
    await fs.mkdir(targetDir, { recursive: true });
    const base = `${path.basename(file, path.extname(file)).slice(0, 80)}-${crypto.randomBytes(4).toString('hex')}`;
    const target = path.join(targetDir, `${base}.webm`);
    const tmp = path.join(targetDir, `.${base}.tmp.webm`);
    try {
      await writeWebmPreview(t, file, tmp, encoder, {
        maxSide: PLAYBACK_MAX_SIDE,
        maxSeconds: PLAYBACK_MAX_SECONDS,
        signal,
      });
      await fs.rename(tmp, target);
    } finally {
      await fs.rm(tmp, { force: true });
    }
    return { kind: 'webm', file: target, encoder };
  }
  // No VP8/VP9 encoder in this ffmpeg (a build without libvpx): frames shown in turn instead.
  const info = await probeVideo(t, file, { signal });
  const r = await previewFrames(t, file, info, { signal });
  const frames: EncodedImage[] = [];
  for (const f of r.frames) {
    const m = await sharp(f).metadata();
    frames.push({
      bytes: new Uint8Array(f.buffer, f.byteOffset, f.byteLength),
      mime: 'image/jpeg',
      width: m.width ?? 0,
      height: m.height ?? 0,
    });
  }
  if (!frames.length) throw new StyleTransferError('bad-image', `${file}: ffmpeg gave no frames to preview`);
  return { kind: 'frames', frames, fps: r.fps };
}
