// Runs one protocol job inside the engine (worker thread or CLI): the single dispatch point
// from JobRequest to the engine functions.
import fs from 'node:fs/promises';
import { decodeImage, maxSide, readImage } from '../io/image';
import { encodeImage } from '../io/imageEncode';
import { StyleTransferError } from '../protocol/errors';
import type { EngineSettings, JobRequest, JobResults, EncodedImage } from '../protocol/jobs';
import { currentTfjsBackend, initTfjsBackend, tfjsBackendFor } from './tfjs/backends';
import { checkGpuPrerequisites } from './gpuPrerequisites';
import { runGpuSetup } from './gpuSetup';
import { findFfmpeg } from '../io/ffmpeg';
import { runVideoSetup } from './video/ffmpegSetup';
import { clipFrame, clipInfo, clipPlayback } from './video/clipJobs';
import { createOnnxSession, releaseOnnxSessions } from './onnx/onnxRunner';
import { PAPER_ARCHITECTURE, paramSpecs } from '../model/architecture';
import { createStylizeEngine } from './stylize/engines';
import type { StylizeEngine } from './stylize/stylizer';
import { stylizeDecoded, stylizeFiles, throwIfCancelled, type JobContext } from './stylize/stylizeJob';
import { loadStyle } from './styles';
import { withBlend } from './stylize/blend';
import { resumeTraining, trainStyle } from './train/trainJob';
import { downloadPretrained, listPretrainedStyles } from './pretrained';
import { downloadVgg19 } from '../io/download';
import { exportTransformNetToOnnx } from '../model/onnx/onnxExport';
import { optimizeWithImage } from './optimizeJob';
import { evaluateStyles } from './evaluateJob';
import { exportOnnx } from './exportJob';
import { importStyle } from './importJob';

let engine: { key: string; engine: StylizeEngine } | undefined;

async function stylizeEngineFor(settings: EngineSettings, runtimeOverride?: string): Promise<StylizeEngine> {
  const runtime = (runtimeOverride ?? settings.stylizeRuntime) as EngineSettings['stylizeRuntime'];
  const key = JSON.stringify([
    runtime,
    settings.cacheDir,
    settings.extraModuleRoots,
    settings.readOnlyRoots,
    settings.threads,
    settings.stylizePrecision,
  ]);
  if (engine?.key !== key) {
    engine?.engine.dispose();
    engine = {
      key,
      engine: await createStylizeEngine({
        runtime,
        cacheDir: settings.cacheDir,
        extraModuleRoots: settings.extraModuleRoots,
        readOnlyRoots: settings.readOnlyRoots,
        threads: settings.threads || undefined,
        precision: settings.stylizePrecision,
      }),
    };
  }
  return engine.engine;
}

async function encodePng(width: number, height: number, rgb: Float32Array, alpha?: Uint8Array): Promise<EncodedImage> {
  const bytes = await encodeImage({ width, height, rgb, alpha }, 'png');
  return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), mime: 'image/png', width, height };
}

/** Runs `job`; the result type follows the job type. */
export function runJob<T extends JobRequest['type']>(
  job: JobRequest & { type: T },
  settings: EngineSettings,
  ctx: JobContext,
): Promise<JobResults[T]> {
  return dispatch(job, settings, ctx) as Promise<JobResults[T]>;
}

async function dispatch(
  j: JobRequest,
  settings: EngineSettings,
  ctx: JobContext,
): Promise<JobResults[keyof JobResults]> {
  throwIfCancelled(ctx.signal);
  switch (j.type) {
    case 'stylize': {
      const e = await stylizeEngineFor(settings, j.options.runtime);
      return await stylizeFiles(
        { inputs: j.inputs, style: j.style, options: j.options, maxInputPixels: settings.maxInputPixels },
        e,
        ctx,
      );
    }
    case 'preview': {
      const { engine: e, style } = await withBlend(
        await stylizeEngineFor(settings, j.options.runtime),
        await loadStyle(j.style),
        j.options,
      );
      const resize = j.maxSide > 0 ? maxSide(j.maxSide) : undefined;
      const img =
        'path' in j.image && j.frameAt !== undefined
          ? await decodeImage(await clipFrame(j.image.path, j.frameAt, j.options, ctx.signal), {
              maxPixels: settings.maxInputPixels,
              resize,
              name: j.image.path,
            })
          : 'path' in j.image
            ? await readImage(j.image.path, { maxPixels: settings.maxInputPixels, resize })
            : await decodeImage(j.image.bytes, { maxPixels: settings.maxInputPixels, resize, name: j.image.name });
      const out = await stylizeDecoded(e, style, img, j.options);
      throwIfCancelled(ctx.signal);
      // With a scale the network saw a resized input: return that one, so both images align.
      const shown = out.input;
      const result: JobResults['preview'] = {
        original: await encodePng(shown.width, shown.height, shown.rgb.data, shown.alpha),
        stylized: await encodePng(out.width, out.height, out.rgb.data, out.alpha),
        runtime: e.label,
        // EXIF orientations 5–8 are rotated by 90°: the upright image swaps width and height.
        sourceWidth: img.source.orientation >= 5 ? img.source.height : img.source.width,
        sourceHeight: img.source.orientation >= 5 ? img.source.width : img.source.height,
      };
      return result;
    }
    case 'clipInfo':
      return clipInfo(j.file, j.options, ctx.signal);
    case 'clipPlayback':
      return clipPlayback(j.file, j.targetDir, j.options, ctx.signal);
    case 'import':
      return await importStyle(j.source, j.target, j.name);
    case 'info':
      return {
        tfjsBackend: currentTfjsBackend()?.label,
        stylizeRuntime: engine?.engine.label,
        versions: { node: process.versions.node },
      };
    case 'train':
      return trainStyle(j.options, settings, ctx);
    case 'resume':
      return resumeTraining(j.options, settings, ctx);
    case 'downloadVgg': {
      const r = await downloadVgg19(j.cacheDir, {
        signal: ctx.signal,
        onProgress: (bytes, total) => ctx.progress?.({ type: 'download', bytes, total }),
      });
      return { path: r.path, cached: r.cached };
    }
    case 'optimize':
      return optimizeWithImage(j.options, settings, ctx);
    case 'evaluate':
      return evaluateStyles(j.options, await stylizeEngineFor(settings), settings, ctx);
    case 'listPretrained':
      return listPretrainedStyles();
    case 'downloadPretrained': {
      const { dir, entry } = await downloadPretrained(j.id, ctx, j.baseUrl);
      try {
        return await importStyle(dir, j.target, entry.title, entry.url);
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    }
    case 'exportOnnx':
      return exportOnnx(await loadStyle(j.style), j.target, { overwrite: true });
    case 'checkGpu':
      return { checks: await checkGpuPrerequisites(j.target) };
    case 'setUpGpu': {
      const r = await runGpuSetup(j.options, {
        signal: ctx.signal,
        progress: (message) => ctx.progress?.({ type: 'phase', message }),
        log: ctx.log,
      });
      return { target: r.target, checks: r.checks, ...(r.moduleRoot ? { moduleRoot: r.moduleRoot } : {}) };
    }
    case 'setUpVideo': {
      const found = await findFfmpeg({ ffmpegPath: j.options.ffmpegPath, storageDir: j.options.storageDir }).catch(
        () => undefined,
      );
      if (found) return { installed: false, ffmpeg: found.ffmpeg, version: found.version };
      const r = await runVideoSetup(j.options, {
        signal: ctx.signal,
        progress: (message) => ctx.progress?.({ type: 'phase', message }),
        log: ctx.log,
      });
      return { installed: true, ffmpeg: r.tools.ffmpeg, version: r.tools.version };
    }
    case 'initBackend': {
      const r = await initTfjsBackend(tfjsBackendFor(j.preference), {
        extraModuleRoots: settings.extraModuleRoots,
        threads: settings.threads,
      });
      return { name: r.name, label: r.label, skipped: r.skipped };
    }
    case 'checkOnnxProvider': {
      // Whether the provider starts with the paper network (constant weights; nothing is run).
      const weights = new Map(
        paramSpecs(PAPER_ARCHITECTURE).map((p) => [
          p.name,
          new Float32Array(p.shape.reduce((a, b) => a * b, 1)).fill(p.role === 'scale' ? 1 : 0.01),
        ]),
      );
      try {
        const s = await createOnnxSession(exportTransformNetToOnnx(PAPER_ARCHITECTURE, weights), {
          providers: [j.provider],
        });
        await s.release();
        // Cached sessions were made without this provider: the next images open new ones.
        engine?.engine.dispose();
        engine = undefined;
        await releaseOnnxSessions();
        return { provider: j.provider, ok: true };
      } catch (e) {
        return { provider: j.provider, ok: false, reason: (e as Error).message };
      }
    }
    default:
      throw new StyleTransferError('bad-input', `unknown job type ${(j as { type: string }).type}`);
  }
}
