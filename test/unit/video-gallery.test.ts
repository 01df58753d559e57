// The gallery's clip parts (issue 16): a frame at a time for the frame picker, the WebM the
// gallery plays (and the frames fallback), APNG detection, and animated PNGs stylized through
// ffmpeg. Clips are made here from generated frames; ffprobe checks what comes out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { isApngFile, readApngControl } from '../../src/io/apng';
import { probeVideo } from '../../src/io/ffmpeg';
import { extractFrame, previewFrames, splitJpegs, webmEncoder, writeWebmPreview } from '../../src/io/videoFrames';
import { clipFrame, clipInfo, clipPlayback } from '../../src/engine/video/clipJobs';
import { runJob } from '../../src/engine/jobs';
import { jobRequestProblem } from '../../src/protocol/jobChecks';
import { runFst } from '../helpers/cli';
import { ffmpegOrSkip, makeApng, makeClip } from '../helpers/clips';
import { REPO_ROOT, tempDir } from '../helpers/paths';
import { engineSettings } from '../helpers/training';

const STYLE = path.join(REPO_ROOT, 'styles', 'starry-night');
const root = tempDir('fst-video-gallery-');

/** The mean colour of PNG bytes. */
async function meanColour(png: Uint8Array): Promise<number[]> {
  const { channels } = await sharp(png).stats();
  return channels.slice(0, 3).map((c) => c.mean);
}

test('extractFrame: the frame at a time, exact, upright PNG of the clip size; past the end the last frame', async (t) => {
  const tools = await ffmpegOrSkip(t);
  if (!tools) return;
  const dir = path.join(root, 'frames');
  fs.mkdirSync(dir);
  // Each second a different solid colour: red, green, blue (12 frames each).
  const clip = path.join(dir, 'rgb.mp4');
  const r = spawnSync(
    tools.ffmpeg,
    [
      '-v',
      'error',
      '-y',
      ...['-f', 'lavfi', '-i', 'color=c=red:size=64x48:rate=12:duration=1'],
      ...['-f', 'lavfi', '-i', 'color=c=lime:size=64x48:rate=12:duration=1'],
      ...['-f', 'lavfi', '-i', 'color=c=blue:size=64x48:rate=12:duration=1'],
      '-filter_complex',
      '[0][1][2]concat=n=3:v=1',
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '36', '-pix_fmt', 'yuv420p'],
      clip,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const info = await probeVideo(tools, clip);
  assert.equal(info.frameCount, 36);
  const at = async (s: number) => {
    const png = await extractFrame(tools, clip, info, s);
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 64, 48]);
    return meanColour(png);
  };
  const dominant = (c: number[]) => c.indexOf(Math.max(...c));
  assert.equal(dominant(await at(0.2)), 0, 'red at 0.2 s');
  // One keyframe only (-g 36): an exact seek decodes up to 1.5 s, not the keyframe at 0.
  assert.equal(dominant(await at(1.5)), 1, 'green at 1.5 s');
  assert.equal(dominant(await at(2.9)), 2, 'blue at 2.9 s');
  assert.equal(dominant(await at(99)), 2, 'past the end: the last frame');
  // The engine's frame for the preview job is the same frame.
  assert.deepEqual(await meanColour(await clipFrame(clip, 1.5, {})), await at(1.5));
});

test('clipInfo: a video, an animated GIF (sharp), an APNG (ffmpeg) and a still PNG', async (t) => {
  const tools = await ffmpegOrSkip(t);
  if (!tools) return;
  const dir = path.join(root, 'info');
  fs.mkdirSync(dir);
  const mp4 = makeClip(tools, path.join(dir, 'clip.mp4'), { width: 64, height: 48, fps: 10, seconds: 1, audio: false });
  assert.deepEqual(await clipInfo(mp4, {}), {
    kind: 'video',
    duration: 1,
    frameCount: 10,
    fps: 10,
    width: 64,
    height: 48,
  });
  const gif = path.join(dir, 'anim.gif');
  const W = 20;
  const H = 10;
  const px = Buffer.alloc(W * H * 3 * 4);
  for (let f = 0; f < 3; f++) for (let i = 0; i < W * H; i++) px.set([f * 120, 0, 0, 255], (f * W * H + i) * 4);
  await sharp(px, { raw: { width: W, height: H * 3, channels: 4, pageHeight: H } })
    .gif({ delay: [100, 300, 100] })
    .toFile(gif);
  const g = await clipInfo(gif, {});
  assert.deepEqual([g.kind, g.frameCount, g.duration, g.width, g.height], ['animated', 3, 0.5, W, H]);
  // The GIF's frame at 0.2 s is its second (0.1–0.4 s).
  assert.ok(Math.abs((await meanColour(await clipFrame(gif, 0.2, {})))[0] - 120) < 3);
  const apng = makeApng(tools, path.join(dir, 'anim.png'), { width: 32, height: 24, fps: 8, frames: 8, plays: 2 });
  const a = await clipInfo(apng, {});
  assert.deepEqual([a.kind, a.frameCount, a.width, a.height], ['video', 8, 32, 24]);
  const still = path.join(dir, 'still.png');
  await sharp({ create: { width: 7, height: 5, channels: 3, background: '#808080' } })
    .png()
    .toFile(still);
  assert.deepEqual(await clipInfo(still, {}), {
    kind: 'still',
    duration: 0,
    frameCount: 1,
    fps: 0,
    width: 7,
    height: 5,
  });
});

test('WebM preview: VP9 (or VP8) a webview plays, even-sized, no audio, every frame; the frames fallback splits JPEGs', async (t) => {
  const tools = await ffmpegOrSkip(t);
  if (!tools) return;
  const dir = path.join(root, 'webm');
  fs.mkdirSync(dir);
  const clip = makeClip(tools, path.join(dir, 'odd.mp4'), { width: 65, height: 47, fps: 12, seconds: 1, audio: true });
  const encoder = await webmEncoder(tools);
  assert.ok(encoder, "Debian's ffmpeg has libvpx");
  const out = path.join(dir, 'odd.webm');
  await writeWebmPreview(tools, clip, out, encoder, { maxSide: 32 });
  const info = await probeVideo(tools, out);
  assert.equal(info.videoCodec, encoder === 'libvpx-vp9' ? 'vp9' : 'vp8');
  assert.equal(info.hasAudio, false);
  assert.equal(info.frameCount, 12);
  assert.deepEqual([info.width, info.height], [32, 22], 'at most 32 per side, even sizes');
  // The playback job puts it under the target folder and names the encoder.
  const playback = await clipPlayback(clip, path.join(dir, 'playback'), {});
  assert.equal(playback.kind, 'webm');
  if (playback.kind === 'webm') {
    assert.equal(path.dirname(playback.file), path.join(dir, 'playback'));
    assert.equal((await probeVideo(tools, playback.file)).frameCount, 12);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'playback')), [path.basename(playback.file)], 'no temporary left');
  }
  // The fallback for an ffmpeg without libvpx: frames spread over the clip, each a JPEG.
  const frames = await previewFrames(tools, clip, await probeVideo(tools, clip), { maxFrames: 4, maxSide: 32 });
  assert.equal(frames.frames.length, 4);
  assert.equal(frames.fps, 4);
  for (const f of frames.frames) assert.equal((await sharp(f).metadata()).format, 'jpeg');
  assert.equal(splitJpegs(Buffer.concat(frames.frames)).length, 4);
});

test('APNG: acTL before IDAT is animated (frames, plays); a still PNG, a PNG with acTL after IDAT and a non-PNG are not', async () => {
  const dir = path.join(root, 'detect');
  fs.mkdirSync(dir);
  const chunk = (type: string, data: Buffer) => {
    const b = Buffer.alloc(12 + data.length);
    b.writeUInt32BE(data.length, 0);
    b.write(type, 4, 'latin1');
    data.copy(b, 8);
    return b; // the CRC is not checked by the detection
  };
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const ihdr = chunk('IHDR', Buffer.alloc(13));
  const actl = chunk('acTL', Buffer.from([0, 0, 0, 5, 0, 0, 0, 3]));
  const idat = chunk('IDAT', Buffer.alloc(4));
  const iend = chunk('IEND', Buffer.alloc(0));
  const write = (name: string, ...parts: Buffer[]) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, Buffer.concat(parts));
    return f;
  };
  const text = chunk('tEXt', Buffer.from('Comment\0x'.repeat(100)));
  assert.deepEqual(await readApngControl(write('a.png', sig, ihdr, text, actl, idat, iend)), { frames: 5, plays: 3 });
  assert.equal(await isApngFile(path.join(dir, 'a.png')), true);
  assert.equal(await isApngFile(write('still.png', sig, ihdr, idat, iend)), false);
  assert.equal(await isApngFile(write('late.png', sig, ihdr, idat, actl, iend)), false);
  assert.equal(await isApngFile(write('short.png', sig, ihdr.subarray(0, 10))), false);
  assert.equal(await isApngFile(write('a.gif', Buffer.from('GIF89a'))), false);
  assert.equal(await isApngFile(path.join(dir, 'missing.png')), false);
});

test('fst stylize on an APNG writes an animated PNG of as many frames with its play count (ffmpeg); a still PNG stays on the image path', async (t) => {
  const tools = await ffmpegOrSkip(t);
  if (!tools) return;
  const dir = path.join(root, 'apng');
  fs.mkdirSync(dir);
  const apng = makeApng(tools, path.join(dir, 'anim.png'), { width: 48, height: 36, fps: 10, frames: 7, plays: 2 });
  const r = await runFst(['stylize', '-q', '-m', STYLE, apng]);
  assert.equal(r.code, 0, r.stderr);
  const out = path.join(dir, 'anim.Starry-Night.png');
  assert.equal(r.stdout.trim(), out);
  const info = await probeVideo(tools, out);
  assert.deepEqual([info.videoCodec, info.frameCount, info.width, info.height], ['apng', 7, 48, 36]);
  assert.deepEqual(await readApngControl(out), { frames: 7, plays: 2 });
  assert.ok(Math.abs(info.duration - 0.7) < 0.02, `duration ${info.duration}`);
  // Never overwritten: a second run picks another name.
  const again = await runFst(['stylize', '-q', '-m', STYLE, apng]);
  assert.equal(again.code, 0, again.stderr);
  assert.notEqual(again.stdout.trim(), out);
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.includes('tmp')),
    [],
    'no temporary file left',
  );
  // A still PNG is stylized by sharp as before: one frame, no acTL.
  const still = path.join(dir, 'still.png');
  await sharp({ create: { width: 30, height: 20, channels: 3, background: '#3060a0' } })
    .png()
    .toFile(still);
  const s = await runFst(['stylize', '-q', '-m', STYLE, still]);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(await readApngControl(s.stdout.trim()), undefined);
  assert.deepEqual([(await sharp(s.stdout.trim()).metadata()).width], [30]);
});

const settings = (cacheDir: string) => engineSettings('cpu', { stylizeRuntime: 'onnx', threads: 1, cacheDir });

test("the worker's checks: clip jobs take absolute paths and known fields; a preview's frameAt is a time ≥ 0", () => {
  const s = settings('/c');
  const preview = { type: 'preview', image: { path: '/c/clip.mp4' }, style: '/s/a', maxSide: 512, options: {} };
  assert.equal(jobRequestProblem({ ...preview, frameAt: 1.5 }, s), undefined);
  assert.match(jobRequestProblem({ ...preview, frameAt: -1 }, s) ?? '', /"frameAt"/);
  assert.equal(
    jobRequestProblem({ type: 'clipInfo', file: '/c/clip.mp4', options: { videoToolsDir: '/st' } }, s),
    undefined,
  );
  assert.match(
    jobRequestProblem({ type: 'clipInfo', file: 'clip.mp4', options: {} }, s) ?? '',
    /"file" must be an absolute path/,
  );
  assert.match(jobRequestProblem({ type: 'clipInfo', file: '/c/a.mp4', options: { shell: 'sh' } }, s) ?? '', /shell/);
  assert.equal(
    jobRequestProblem({ type: 'clipPlayback', file: '/c/a.mp4', targetDir: '/st/p', options: {} }, s),
    undefined,
  );
  assert.match(
    jobRequestProblem({ type: 'clipPlayback', file: '/c/a.mp4', options: {} }, s) ?? '',
    /"targetDir" is missing/,
  );
});

test('the preview job with frameAt stylizes that frame of a clip: the original is the frame, the stylization its size', async (t) => {
  const tools = await ffmpegOrSkip(t);
  if (!tools) return;
  const dir = path.join(root, 'preview-job');
  fs.mkdirSync(dir);
  const clip = makeClip(tools, path.join(dir, 'clip.mp4'), {
    width: 64,
    height: 48,
    fps: 10,
    seconds: 1,
    audio: false,
  });
  const job = (frameAt: number) =>
    runJob(
      { type: 'preview', image: { path: clip }, style: STYLE, maxSide: 512, options: {}, frameAt },
      settings(dir),
      {},
    );
  const a = await job(0.05);
  const b = await job(0.85);
  for (const r of [a, b]) {
    assert.deepEqual([r.original.width, r.original.height, r.stylized.width, r.stylized.height], [64, 48, 64, 48]);
    assert.deepEqual([r.sourceWidth, r.sourceHeight], [64, 48]);
  }
  const frame = await sharp(await extractFrame(tools, clip, await probeVideo(tools, clip), 0.85))
    .raw()
    .toBuffer();
  assert.deepEqual(await sharp(b.original.bytes).raw().toBuffer(), frame, 'the original is the frame at 0.85 s');
  assert.notDeepEqual(Buffer.from(a.original.bytes), Buffer.from(b.original.bytes), 'another frame');
});
