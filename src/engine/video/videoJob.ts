// Stylizes a video clip: ffmpeg decodes it to RGB frames on a pipe, each frame is stylized
// (steady across a shot by default, frameStylizer.ts), and a second ffmpeg encodes the frames
// from a pipe as H.264 with the input's audio copied. A few frames are in memory at a time
// whatever the clip's length; ffmpeg decodes and encodes while a frame is computed. The MP4 is
// written under a temporary name and renamed at the end; a cancel or a failure kills both
// ffmpegs and leaves no file.
import { DEFAULT_MAX_PIXELS } from '../../io/image';
import { findFfmpeg, probeVideo, type FfmpegTools, type VideoInfo } from '../../io/ffmpeg';
import { delayMs, isApngFile, readApngAnimation } from '../../io/apng';
import { ApngWriter } from '../../io/apngWrite';
import { writeProducedFile } from '../../io/output';
import { FrameDecoder, FrameEncoder } from '../../io/videoStream';
import { StyleTransferError, cancelledError } from '../../protocol/errors';
import type { StylizeOptions } from '../../protocol/jobs';
import type { JobContext } from '../stylize/stylizeJob';
import type { StylizeEngine } from '../stylize/stylizer';
import type { LoadedStyle } from '../styles';
import { FrameStylizer } from './frameStylizer';

export interface VideoJobContext extends JobContext {
  /** Position of this file in a many-file job (for progress events). */
  readonly index?: number;
  readonly total?: number;
  readonly maxPixels?: number;
  /** ffmpeg already found (tests, many clips in one job). */
  readonly tools?: FfmpegTools;
}

export interface VideoResult {
  readonly output: string;
  readonly info: VideoInfo;
  readonly frames: number;
  readonly cuts: number;
  readonly seconds: number;
}

/**
 * Stylizes the clip `input` with `style`; returns the written `clip.<style>.mp4`. An animated
 * PNG (sharp reads its first frame only) is decoded the same way by ffmpeg's apng demuxer and
 * comes out as `clip.<style>.png`, written by ApngWriter with the input's frame count, each
 * frame's delay (read from its fcTL chunks: ffmpeg's raw pipe keeps none) and play count.
 */
export async function stylizeVideoFile(
  engine: StylizeEngine,
  style: LoadedStyle,
  input: string,
  options: StylizeOptions,
  ctx: VideoJobContext = {},
): Promise<VideoResult> {
  const signal = ctx.signal;
  if (signal?.aborted) throw cancelledError('stylize');
  const tools = ctx.tools ?? (await findFfmpeg({ ffmpegPath: options.ffmpegPath, storageDir: options.videoToolsDir }));
  const apng = (await isApngFile(input)) ? await readApngAnimation(input) : undefined;
  const info = await probeVideo(tools, input, { signal });
  const maxPixels = ctx.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (info.width * info.height > maxPixels) {
    throw new StyleTransferError(
      'image-too-large',
      `${input}: frames of ${info.width}×${info.height} are more than the limit of ${Math.round(maxPixels / 1e6)} megapixels`,
    );
  }
  const frames = new FrameStylizer(engine, style, options);
  const t0 = Date.now();
  let done = 0;
  const report = () => {
    const seconds = (Date.now() - t0) / 1000;
    const fps = seconds > 0 ? done / seconds : 0;
    ctx.progress?.({
      type: 'stylize',
      done: ctx.index ?? 0,
      total: ctx.total ?? 1,
      file: input,
      frames: {
        done,
        total: info.frameCount,
        fps,
        etaSeconds: fps > 0 ? Math.max(0, info.frameCount - done) / fps : 0,
      },
    });
  };
  await frames.open(info.width, info.height);
  try {
    const output = await writeProducedFile(
      input,
      style.name,
      apng ? '.png' : '.mp4',
      async (tmp) => {
        const encoder = apng
          ? await ApngWriter.create(tmp, {
              width: info.width,
              height: info.height,
              plays: apng.plays,
              delays: apng.delays,
            })
          : new FrameEncoder(tools, tmp, { audioFrom: input, info });
        const decoder = new FrameDecoder(tools, input, info);
        const stop = () => {
          decoder.kill();
          encoder.kill();
        };
        signal?.addEventListener('abort', stop, { once: true });
        let finished = false;
        try {
          report();
          // One frame may be in the encoder's pipe while the next is computed.
          let writing: Promise<void> = Promise.resolve();
          for (;;) {
            if (signal?.aborted) throw cancelledError('stylize');
            const frame = await decoder.next();
            if (!frame) break;
            const out = await frames.stylize({ width: info.width, height: info.height, data: frame }, signal);
            await writing;
            if (signal?.aborted) throw cancelledError('stylize');
            writing = encoder.write(out).then(() => {
              done++;
              report();
            });
            writing.catch(() => undefined); // awaited in turn
          }
          await writing;
          if (signal?.aborted) throw cancelledError('stylize');
          await encoder.finish();
          finished = true;
          if (done === 0) throw new StyleTransferError('bad-image', `${input} has no frames ffmpeg can decode`);
          const averaged = encoder instanceof ApngWriter ? encoder.averaged : undefined;
          if (averaged)
            ctx.log?.(
              `${input}: ffmpeg decoded ${averaged.frames} of the ${averaged.expected} frames its fcTL chunks announce; ` +
                `each frame shows for their average, ${Math.round(delayMs(averaged.delay))} ms`,
            );
        } catch (e) {
          if (signal?.aborted) throw cancelledError('stylize');
          throw e;
        } finally {
          signal?.removeEventListener('abort', stop);
          await decoder.close();
          if (!finished) await encoder.close();
        }
      },
      { outDir: options.outDir, createDir: options.outDir !== undefined },
    );
    ctx.log?.(`${input} → ${output}: ${done} frames, ${frames.cuts} scene cuts (${engine.label})`);
    return { output, info, frames: done, cuts: frames.cuts, seconds: (Date.now() - t0) / 1000 };
  } finally {
    await frames.close();
  }
}
