// Animated PNGs keep each frame's delay and their play count (issue 16): the fcTL reader, the
// writer, and `fst stylize` on an APNG of variable delays. Inputs are made by ffmpeg's apng
// muxer (one rate only) from generated frames, then their fcTL delays are rewritten here (CRCs
// recomputed with the test's own CRC); outputs are parsed chunk by chunk and decoded by
// ffprobe/ffmpeg.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { delayMs, readApngAnimation, type ApngDelay } from '../../src/io/apng';
import { ApngWriter } from '../../src/io/apngWrite';
import type { FfmpegTools } from '../../src/io/ffmpeg';
import { createStylizeEngine } from '../../src/engine/stylize/engines';
import { loadStyle } from '../../src/engine/styles';
import { stylizeVideoFile } from '../../src/engine/video/videoJob';
import { clipFrame, clipInfo, clipPlayback } from '../../src/engine/video/clipJobs';
import { StyleTransferError } from '../../src/protocol/errors';
import { runFst } from '../helpers/cli';
import { ffmpegOrSkip, makeApng } from '../helpers/clips';
import { crc32 } from '../helpers/png';
import { REPO_ROOT, tempDir } from '../helpers/paths';

const STYLE = path.join(REPO_ROOT, 'styles', 'starry-night');
const root = tempDir('fst-apng-');

interface Chunk {
  readonly type: string;
  readonly at: number;
  readonly data: Buffer;
  readonly crcOk: boolean;
}

/** Every chunk of a PNG file. */
function chunksOf(bytes: Buffer): Chunk[] {
  const out: Chunk[] = [];
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    const data = bytes.subarray(at + 8, at + 8 + length);
    out.push({
      type,
      at,
      data,
      crcOk: bytes.readUInt32BE(at + 8 + length) === crc32(bytes.subarray(at + 4, at + 8 + length)),
    });
    at += 12 + length;
  }
  return out;
}

/** Rewrites a chunk's data in place (same length) and its CRC. */
function patchChunk(bytes: Buffer, c: Chunk, edit: (data: Buffer) => void): void {
  edit(c.data);
  bytes.writeUInt32BE(crc32(bytes.subarray(c.at + 4, c.at + 8 + c.data.length)), c.at + 8 + c.data.length);
}

/** Gives the APNG `file` these frame delays (num/den as stored, den 0 included). */
function setDelays(file: string, delays: readonly { num: number; den: number }[]): void {
  const bytes = fs.readFileSync(file);
  const fctls = chunksOf(bytes).filter((c) => c.type === 'fcTL');
  assert.equal(fctls.length, delays.length);
  fctls.forEach((c, i) =>
    patchChunk(bytes, c, (d) => {
      d.writeUInt16BE(delays[i].num, 20);
      d.writeUInt16BE(delays[i].den, 22);
    }),
  );
  fs.writeFileSync(file, bytes);
}

/** What ffprobe decodes: codec, size, frames (decoded, not announced) and each packet's duration in ms. */
function probe(tools: FfmpegTools, file: string) {
  const r = spawnSync(
    tools.ffprobe,
    [
      ...['-v', 'error', '-count_frames', '-of', 'json'],
      ...['-show_entries', 'stream=codec_name,width,height,nb_read_frames:packet=duration_time', file],
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as {
    streams: { codec_name: string; width: number; height: number; nb_read_frames: string }[];
    packets: { duration_time: string }[];
  };
  const s = j.streams[0];
  return {
    codec: s.codec_name,
    width: s.width,
    height: s.height,
    frames: Number(s.nb_read_frames),
    durations: j.packets.map((p) => Math.round(Number(p.duration_time) * 1000)),
  };
}

/** Decoded RGB frames, by ffmpeg. */
function decodeFrames(tools: FfmpegTools, file: string, width: number, height: number): Buffer[] {
  const r = spawnSync(
    tools.ffmpeg,
    ['-v', 'error', '-i', file, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  assert.equal(r.status, 0, String(r.stderr));
  const n = width * height * 3;
  assert.equal(r.stdout.length % n, 0);
  return Array.from({ length: r.stdout.length / n }, (_, i) => r.stdout.subarray(i * n, (i + 1) * n));
}

/** The layout every APNG we write has: IHDR, acTL, fcTL + IDAT, then fcTL + fdAT per frame, IEND; sequence numbers 0, 1, 2…; CRCs right. */
function assertLayout(file: string, frames: number): void {
  const cs = chunksOf(fs.readFileSync(file));
  assert.ok(
    cs.every((c) => c.crcOk),
    'every CRC is right',
  );
  const order = cs
    .map((c) => c.type)
    .join(' ')
    .replace(/(IDAT ?)+/g, 'IDAT ')
    .replace(/(fdAT ?)+/g, 'fdAT ')
    .trim();
  assert.equal(
    order,
    ['IHDR acTL fcTL IDAT', ...Array.from({ length: frames - 1 }, () => 'fcTL fdAT'), 'IEND'].join(' '),
  );
  const seqs = cs.filter((c) => c.type === 'fcTL' || c.type === 'fdAT').map((c) => c.data.readUInt32BE(0));
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => i),
    'sequence numbers',
  );
  for (const c of cs.filter((c) => c.type === 'fcTL'))
    assert.deepEqual(
      [c.data[24], c.data[25], c.data.readUInt32BE(12), c.data.readUInt32BE(16)],
      [0, 0, 0, 0],
      'whole frames',
    );
}

// Delays as an APNG stores them: 40 ms, 120 ms, 250 ms, 7/100 s (den 0 means 100), 1/2 s, 1/30 s.
const STORED = [
  { num: 1, den: 25 },
  { num: 12, den: 100 },
  { num: 250, den: 1000 },
  { num: 7, den: 0 },
  { num: 1, den: 2 },
  { num: 1, den: 30 },
];
const READ: ApngDelay[] = STORED.map((d) => ({ num: d.num, den: d.den || 100 }));

test("crc32 is PNG's CRC-32: the standard check value, and continued over a split input", () => {
  const bytes = Buffer.from('123456789', 'latin1');
  assert.equal(crc32(bytes), 0xcbf43926);
  assert.equal(crc32(bytes.subarray(4), crc32(bytes.subarray(0, 4))), 0xcbf43926);
});

test('readApngAnimation: each frame delay from its fcTL (den 0 read as 100), plays, canvas; ffprobe agrees', async (t) => {
  const tools = await ffmpegOrSkip(t);
  if (!tools) return;
  const dir = path.join(root, 'read');
  fs.mkdirSync(dir);
  const file = makeApng(tools, path.join(dir, 'anim.png'), { width: 45, height: 31, fps: 10, frames: 6, plays: 3 });
  setDelays(file, STORED);
  const a = await readApngAnimation(file);
  assert.deepEqual(a, { frames: 6, plays: 3, width: 45, height: 31, delays: READ });
  assert.deepEqual(
    a.delays.map((d) => Math.round(delayMs(d))),
    [40, 120, 250, 70, 500, 33],
  );
  assert.deepEqual(probe(tools, file).durations, [40, 120, 250, 70, 500, 33]);
});

test('fst stylize on an APNG of variable delays: as many frames, each its delay, its plays; ffmpeg decodes every frame', async (t) => {
  const tools = await ffmpegOrSkip(t);
  if (!tools) return;
  const dir = path.join(root, 'stylize');
  fs.mkdirSync(dir);
  const input = makeApng(tools, path.join(dir, 'anim.png'), { width: 45, height: 31, fps: 10, frames: 6, plays: 3 });
  setDelays(input, STORED);
  const r = await runFst(['stylize', '-q', '-m', STYLE, input]);
  assert.equal(r.code, 0, r.stderr);
  const out = path.join(dir, 'anim.Starry-Night.png');
  assert.equal(r.stdout.trim(), out);
  assert.deepEqual(await readApngAnimation(out), { frames: 6, plays: 3, width: 45, height: 31, delays: READ });
  assertLayout(out, 6);
  const p = probe(tools, out);
  assert.deepEqual([p.codec, p.width, p.height, p.frames], ['apng', 45, 31, 6]);
  assert.deepEqual(p.durations, [40, 120, 250, 70, 500, 33]);
  const frames = decodeFrames(tools, out, 45, 31);
  assert.equal(frames.length, 6);
  const inputFrames = decodeFrames(tools, input, 45, 31);
  assert.ok(
    frames.every((f, i) => !f.equals(inputFrames[i])),
    'every frame is stylized',
  );
  assert.deepEqual(fs.readdirSync(dir).sort(), ['anim.Starry-Night.png', 'anim.png'], 'no temporary file left');
  // The gallery's clip parts take it: ffprobe's frames and duration, a frame at a time, played as it is.
  const info = await clipInfo(out, {});
  assert.deepEqual([info.kind, info.frameCount, info.width, info.height], ['video', 6, 45, 31]);
  assert.ok(Math.abs(info.duration - 1.013) < 0.005, `duration ${info.duration}`);
  const first = await sharp(await clipFrame(out, 0, {}))
    .raw()
    .toBuffer();
  assert.ok(first.equals(frames[0]), 'the frame at 0 s is the first');
  const playback = await clipPlayback(out, path.join(root, 'playback'), {});
  assert.equal(playback.kind, 'image');
  if (playback.kind === 'image') assert.deepEqual(Buffer.from(playback.image.bytes), fs.readFileSync(out));
});

test('ApngWriter: RGBA frames; fewer frames than delays: acTL corrected, every frame the average (total kept)', async (t) => {
  const tools = await ffmpegOrSkip(t);
  if (!tools) return;
  const dir = path.join(root, 'writer');
  fs.mkdirSync(dir);
  const [W, H] = [7, 5];
  const frame = (v: number) => Buffer.alloc(W * H * 4, v);
  const full = path.join(dir, 'full.png');
  const delays = [
    { num: 1, den: 10 },
    { num: 1, den: 3 },
    { num: 65535, den: 1000 },
  ];
  const w = await ApngWriter.create(full, { width: W, height: H, plays: 0, delays });
  for (const v of [10, 120, 250]) await w.write(frame(v));
  await w.finish();
  assert.equal(w.averaged, undefined);
  assert.deepEqual(await readApngAnimation(full), { frames: 3, plays: 0, width: W, height: H, delays });
  assertLayout(full, 3);
  assert.equal(chunksOf(fs.readFileSync(full))[0].data[9], 6, 'colour type RGBA');
  assert.equal(probe(tools, full).frames, 3);
  await assert.rejects(
    ApngWriter.create(full, { width: W, height: H, plays: 0, delays }),
    /EEXIST/,
    'never overwrites',
  );

  const short = path.join(dir, 'short.png');
  const s = await ApngWriter.create(short, { width: W, height: H, plays: 2, delays: READ });
  for (const v of [10, 120]) await s.write(frame(v));
  await s.finish();
  // 40 + 120 + 250 + 70 + 500 + 33.3 ms over 2 frames.
  assert.deepEqual(s.averaged, { frames: 2, expected: 6, delay: { num: 507, den: 1000 } });
  assert.deepEqual(await readApngAnimation(short), {
    frames: 2,
    plays: 2,
    width: W,
    height: H,
    delays: [s.averaged.delay, s.averaged.delay],
  });
  assertLayout(short, 2);
  assert.deepEqual(probe(tools, short).durations, [507, 507]);

  // A frame that failed leaves the file unfinished.
  const bad = await ApngWriter.create(path.join(dir, 'bad.png'), { width: W, height: H, plays: 0, delays });
  await assert.rejects(bad.write(Buffer.alloc(10)), /a frame of 10 bytes is not 7×5/);
  await assert.rejects(bad.finish(), /a frame of 10 bytes is not 7×5/);
  await bad.close();
});

test('an APNG frame ffmpeg cannot decode: the frames it can, each shown for the average delay, with a logged warning; cancel leaves no file', async (t) => {
  const tools = await ffmpegOrSkip(t);
  if (!tools) return;
  const dir = path.join(root, 'damaged');
  fs.mkdirSync(dir);
  const input = makeApng(tools, path.join(dir, 'anim.png'), { width: 32, height: 24, fps: 10, frames: 6, plays: 1 });
  setDelays(input, STORED);
  // The fourth frame's image data replaced by bytes zlib refuses (lengths and CRCs intact).
  const bytes = fs.readFileSync(input);
  const fdat = chunksOf(bytes).filter((c) => c.type === 'fdAT');
  const fourth = fdat.find((c) => c.data.readUInt32BE(0) === 6) ?? fdat[2];
  patchChunk(bytes, fourth, (d) => d.fill(0x55, 4));
  fs.writeFileSync(input, bytes);
  const engine = await createStylizeEngine({ cacheDir: path.join(root, 'cache') });
  try {
    const style = await loadStyle(STYLE);
    const logs: string[] = [];
    const r = await stylizeVideoFile(engine, style, input, {}, { tools, log: (m) => logs.push(m) });
    assert.equal(r.frames, 5);
    const a = await readApngAnimation(r.output);
    assert.deepEqual([a.frames, a.plays], [5, 1]);
    // 1013.3 ms over 5 frames.
    assert.deepEqual(
      a.delays,
      Array.from({ length: 5 }, () => ({ num: 203, den: 1000 })),
    );
    assert.equal(probe(tools, r.output).frames, 5);
    assert.ok(
      logs.some((l) => /ffmpeg decoded 5 of the 6 frames its fcTL chunks announce; .* 203 ms/.test(l)),
      logs.join('\n'),
    );
    fs.rmSync(r.output);

    // Cancelled after the second frame: no partial or temporary file.
    const ac = new AbortController();
    await assert.rejects(
      stylizeVideoFile(
        engine,
        style,
        input,
        {},
        {
          tools,
          signal: ac.signal,
          progress: (p) => {
            if (p.type === 'stylize' && p.frames?.done === 2) ac.abort();
          },
        },
      ),
      (e: unknown) => e instanceof StyleTransferError && e.code === 'cancelled',
    );
    assert.deepEqual(fs.readdirSync(dir), ['anim.png']);
  } finally {
    engine.dispose();
  }
});

test('a corrupt APNG is refused with one line naming what is wrong, and nothing is written', async (t) => {
  const dir = path.join(root, 'corrupt');
  fs.mkdirSync(dir);
  const tools = await ffmpegOrSkip(t);
  if (!tools) return;
  const good = fs.readFileSync(
    makeApng(tools, path.join(dir, 'good.png'), { width: 16, height: 12, fps: 10, frames: 4, plays: 0 }),
  );
  fs.rmSync(path.join(dir, 'good.png'));
  const cs = chunksOf(good);
  const fctl = cs.filter((c) => c.type === 'fcTL');
  const variant = (name: string, edit: (b: Buffer) => Buffer) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, edit(Buffer.from(good)));
    return f;
  };
  const cases: [string, RegExp][] = [
    [
      variant('cut.png', (b) => b.subarray(0, fctl[2].at + 60)),
      /chunk fdAT at byte \d+ \(\d+ bytes\) runs past the end of the file/,
    ],
    [variant('no-iend.png', (b) => b.subarray(0, cs[cs.length - 1].at)), /ends without an IEND chunk/],
    [
      variant('crc.png', (b) => {
        b[fctl[1].at + 8 + 21] ^= 1;
        return b;
      }),
      /chunk fcTL at byte \d+ fails its CRC check/,
    ],
    [
      variant('count.png', (b) => {
        patchChunk(
          b,
          chunksOf(b).find((c) => c.type === 'acTL')!,
          (d) => d.writeUInt32BE(9, 0),
        );
        return b;
      }),
      /its acTL announces 9 frames, it holds 4 fcTL chunks/,
    ],
    [
      variant('region.png', (b) => {
        patchChunk(b, chunksOf(b).filter((c) => c.type === 'fcTL')[1], (d) => d.writeUInt32BE(15, 12));
        return b;
      }),
      /frame 2's region \d+×\d+ at 15,\d+ is outside the 16×12 canvas/,
    ],
    [
      variant('huge.png', (b) => {
        b.writeUInt32BE(0xfffffff0, fctl[3].at);
        return b;
      }),
      /chunk fcTL at byte \d+ \(4294967280 bytes\) runs past the end/,
    ],
  ];
  for (const [file, why] of cases) {
    await assert.rejects(readApngAnimation(file), (e: unknown) => {
      assert.ok(e instanceof StyleTransferError && e.code === 'bad-image', String(e));
      assert.match(
        e.message,
        new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is a corrupt animated PNG: `),
      );
      assert.match(e.message, why);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  }
  // Through the CLI: one line on stderr, exit 1, nothing written.
  const r = await runFst(['stylize', '-q', '-m', STYLE, cases[0][0]]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /cut\.png is a corrupt animated PNG: chunk fdAT at byte \d+ .* runs past the end of the file/);
  assert.deepEqual(fs.readdirSync(dir).sort(), cases.map(([f]) => path.basename(f)).sort());
});
