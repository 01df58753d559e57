// Hostile image files through the real stylize path (readImage → decode → ONNX Runtime or
// tfjs → encode → atomic write): every format and bit depth sharp writes, then truncated,
// bit-flipped, chunk-corrupted and size-lying variants; empty and non-image files with image
// extensions; decompression bombs; extreme aspect ratios; hostile file names and links.
import fs from 'node:fs';
import path from 'node:path';
import { isAnimatedImage } from '../../../src/io/animated';
import sharp from 'sharp';
import { readImage } from '../../../src/io/image';
import { initTfjsBackend } from '../../../src/engine/tfjs/backends';
import { createStylizeEngine } from '../../../src/engine/stylize/engines';
import { stylizeFiles } from '../../../src/engine/stylize/stylizeJob';
import type { StylizeEngine } from '../../../src/engine/stylize/stylizer';
import type { StylizeOptions } from '../../../src/protocol/jobs';
import { bombPng, GREY, GREY_ALPHA, makePng, RGB } from '../../helpers/png';
import { makeCmykTiff } from '../../helpers/tiff';
import { CrashError, checkErrorInfos, type Family, type FuzzInput, type RunResult } from '../lib/family';
import {
  deleteRange,
  duplicateRange,
  flipBits,
  GIF_MUTATIONS,
  interesting,
  JPEG_MUTATIONS,
  overwrite,
  PNG_MUTATIONS,
  TIFF_MUTATIONS,
  truncateAt,
  WEBP_MUTATIONS,
  type Mutation,
} from '../lib/mutate';
import { Rng, seedOf } from '../lib/prng';
import { writeTinyStyle } from '../lib/styles';

/** Low enough that bombs just over it are cheap to build, high enough for 1×100000. */
export const FUZZ_MAX_PIXELS = 4_000_000;

export interface ImageSeed {
  readonly name: string;
  readonly ext: string;
  readonly bytes: Buffer;
  readonly mutations: readonly Mutation[];
}

function card(width: number, height: number, channels: 3 | 4, seed: number): Buffer {
  const rng = new Rng(seed);
  const b = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      b[i] = (x * 255) / (width - 1) + rng.int(-10, 10);
      b[i + 1] = (y * 255) / (height - 1);
      b[i + 2] = rng.int(0, 255);
      if (channels === 4) b[i + 3] = x < width / 2 ? 255 : rng.int(0, 255);
    }
  }
  return b;
}

/** One small image per format, bit depth and colour model the decoder must handle. */
export async function imageSeeds(): Promise<ImageSeed[]> {
  const W = 24,
    H = 16;
  const rgb = () => sharp(card(W, H, 3, 1), { raw: { width: W, height: H, channels: 3 } });
  const rgba = () => sharp(card(W, H, 4, 2), { raw: { width: W, height: H, channels: 4 } });
  const samples16 = Array.from({ length: W * H * 3 }, (_, i) => (i * 2654435761) % 65536);
  const png16 = makePng({ width: W, height: H, bitDepth: 16, colourType: RGB, samples: samples16 });
  const frame = (c: string) =>
    sharp({ create: { width: 12, height: 10, channels: 3, background: c } })
      .png()
      .toBuffer();
  const gifAnim = await sharp([await frame('#f00'), await frame('#0f0'), await frame('#00f')], {
    join: { animated: true },
  })
    .gif()
    .toBuffer();
  const cmyk = Array.from({ length: 10 * 8 * 4 }, (_, i) => (i * 37) % 256);
  const seeds: [string, string, Buffer, Mutation[]][] = [
    ['png-rgb8', '.png', await rgb().png().toBuffer(), PNG_MUTATIONS],
    ['png-rgba8', '.png', await rgba().png().toBuffer(), PNG_MUTATIONS],
    ['png-rgb16', '.png', png16, PNG_MUTATIONS],
    [
      'png-grey16',
      '.png',
      makePng({ width: W, height: H, bitDepth: 16, colourType: GREY, samples: samples16.slice(0, W * H) }),
      PNG_MUTATIONS,
    ],
    ['png-palette', '.png', await rgb().png({ palette: true, colours: 16 }).toBuffer(), PNG_MUTATIONS],
    [
      'png-grey-alpha',
      '.png',
      makePng({
        width: W,
        height: H,
        bitDepth: 8,
        colourType: GREY_ALPHA,
        samples: Array.from({ length: W * H * 2 }, (_, i) => (i * 7) % 256),
      }),
      PNG_MUTATIONS,
    ],
    [
      'png-1bit',
      '.png',
      makePng({
        width: W,
        height: H,
        bitDepth: 1,
        colourType: GREY,
        samples: Array.from({ length: W * H }, (_, i) => (i >> 2) & 1),
      }),
      PNG_MUTATIONS,
    ],
    ['png-interlaced', '.png', await rgb().png({ progressive: true }).toBuffer(), PNG_MUTATIONS],
    ['jpeg-baseline', '.jpg', await rgb().jpeg({ quality: 80 }).toBuffer(), JPEG_MUTATIONS],
    ['jpeg-progressive', '.jpeg', await rgb().jpeg({ progressive: true }).toBuffer(), JPEG_MUTATIONS],
    ['jpeg-cmyk', '.jpg', await rgb().toColourspace('cmyk').jpeg().toBuffer(), JPEG_MUTATIONS],
    ['jpeg-grey', '.jpg', await rgb().greyscale().jpeg().toBuffer(), JPEG_MUTATIONS],
    ['jpeg-exif-rotated', '.jpg', await rgb().jpeg().withMetadata({ orientation: 6 }).toBuffer(), JPEG_MUTATIONS],
    ['webp-lossy', '.webp', await rgb().webp({ quality: 70 }).toBuffer(), WEBP_MUTATIONS],
    ['webp-lossless-alpha', '.webp', await rgba().webp({ lossless: true }).toBuffer(), WEBP_MUTATIONS],
    ['webp-animated', '.webp', await sharp(gifAnim, { animated: true }).webp().toBuffer(), WEBP_MUTATIONS],
    ['tiff-lzw-rgb8', '.tif', await rgb().tiff({ compression: 'lzw' }).toBuffer(), TIFF_MUTATIONS],
    [
      'tiff-rgb16',
      '.tiff',
      await sharp(png16).toColourspace('rgb16').tiff({ compression: 'lzw' }).toBuffer(),
      TIFF_MUTATIONS,
    ],
    ['tiff-cmyk', '.tif', makeCmykTiff(10, 8, cmyk), TIFF_MUTATIONS],
    ['tiff-deflate-rgba', '.tif', await rgba().tiff({ compression: 'deflate' }).toBuffer(), TIFF_MUTATIONS],
    ['gif-static', '.gif', await rgb().gif().toBuffer(), GIF_MUTATIONS],
    ['gif-animated', '.gif', gifAnim, GIF_MUTATIONS],
    ['avif', '.avif', await rgb().avif({ quality: 50 }).toBuffer(), []],
  ];
  return seeds.map(([name, ext, bytes, mutations]) => ({ name, ext, bytes, mutations }));
}

/** The generic byte mutations every seed gets (deterministic per seed). */
export function genericMutations(len: number): Mutation[] {
  const cuts = [
    ...new Set([
      1,
      4,
      8,
      12,
      16,
      24,
      33,
      60,
      Math.floor(len / 4),
      Math.floor(len / 2),
      Math.floor((3 * len) / 4),
      len - 16,
      len - 1,
    ]),
  ].filter((n) => n > 0 && n < len);
  return [
    ...cuts.map((n) => ({ name: `truncate-${n}`, apply: (b: Buffer) => truncateAt(b, n) })),
    { name: 'flip-1', apply: (b, rng) => flipBits(b, rng, 1) },
    { name: 'flip-1-body', apply: (b, rng) => flipBits(b, rng, 1, 16) },
    { name: 'flip-1-body', apply: (b, rng) => flipBits(b, rng, 1, 16) },
    { name: 'flip-4', apply: (b, rng) => flipBits(b, rng, 4) },
    { name: 'flip-4-body', apply: (b, rng) => flipBits(b, rng, 4, 16) },
    { name: 'flip-32', apply: (b, rng) => flipBits(b, rng, 32) },
    { name: 'overwrite-8', apply: (b, rng) => overwrite(b, rng, 8) },
    { name: 'overwrite-64-body', apply: (b, rng) => overwrite(b, rng, 64, 16) },
    { name: 'interesting', apply: (b, rng) => interesting(b, rng) },
    { name: 'interesting-body', apply: (b, rng) => interesting(b, rng, 16) },
    { name: 'delete', apply: (b, rng) => deleteRange(b, rng, 8) },
    { name: 'duplicate', apply: (b, rng) => duplicateRange(b, rng, 8) },
  ];
}

/** A file to stylize, as bytes (or something stranger than a file). */
export interface ImageCase {
  readonly kind: string;
  readonly fileName: string;
  readonly make: (dir: string) => Promise<string> | string;
}

function bytesCase(kind: string, fileName: string, bytes: Buffer): ImageCase {
  return {
    kind,
    fileName,
    make: (dir) => {
      const f = path.join(dir, fileName);
      fs.writeFileSync(f, bytes);
      return f;
    },
  };
}

/** Every mutated and special image case, in a fixed order. */
export async function imageCases(): Promise<ImageCase[]> {
  const cases: ImageCase[] = [];
  for (const seed of await imageSeeds()) {
    cases.push(bytesCase(`${seed.name}/valid`, `photo${seed.ext}`, seed.bytes));
    for (const m of [...genericMutations(seed.bytes.length), ...seed.mutations]) {
      const rng = new Rng(seedOf(`${seed.name}/${m.name}/${cases.length}`));
      cases.push(
        bytesCase(
          `${seed.name}/${m.name.startsWith('truncate-') ? 'truncate' : m.name}`,
          `photo${seed.ext}`,
          m.apply(seed.bytes, rng),
        ),
      );
    }
  }
  const rng = new Rng(seedOf('specials'));
  const validPng = (await imageSeeds())[0].bytes;
  for (const ext of ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif', '.avif', '.heic'])
    cases.push(bytesCase('empty', `empty${ext}`, Buffer.alloc(0)));
  const nonImages: [string, string, Buffer][] = [
    ['text', 'notes.png', Buffer.from('Just some text, not a picture.\n'.repeat(30))],
    ['json', 'data.jpg', Buffer.from(JSON.stringify({ width: 100000, height: 100000 }))],
    ['html', 'page.webp', Buffer.from('<!doctype html><img src=x onerror=alert(1)>')],
    [
      'svg',
      'vector.png',
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"><rect width="10" height="10"/></svg>',
      ),
    ],
    [
      'svg-external',
      'vector2.png',
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10"><image xlink:href="file:///etc/passwd" width="10" height="10"/></svg>',
      ),
    ],
    ['pdf', 'doc.tif', Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n')],
    ['zip', 'archive.gif', Buffer.concat([Buffer.from('PK\x03\x04'), rng.bytes(200)])],
    ['gzip-png', 'zipped.png', (await import('node:zlib')).gzipSync(validPng)],
    ['elf', 'program.jpg', Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01'), rng.bytes(500)])],
    ['random-1k', 'noise.png', rng.bytes(1024)],
    ['random-64k', 'noise.jpg', rng.bytes(65536)],
    ['one-byte', 'one.gif', Buffer.from([0x47])],
    ['png-signature-only', 'sig.png', validPng.subarray(0, 8)],
    ['jpeg-soi-only', 'soi.jpg', Buffer.from([0xff, 0xd8, 0xff])],
    ['gif-header-only', 'hdr.gif', Buffer.from('GIF89a')],
    ['riff-only', 'riff.webp', Buffer.from('RIFF\0\0\0\0WEBP')],
    ['tiff-header-only', 'hdr.tif', Buffer.from('II*\0\x08\0\0\0')],
    ['heic-brand', 'photo.heic', Buffer.concat([Buffer.from('\0\0\0\x18ftypheic\0\0\0\0mif1heic'), rng.bytes(100)])],
    ['png-named-jpg', 'mislabelled.jpg', validPng],
    ['bomb-png-100000x100000', 'bomb.png', bombPng(100_000, 100_000)],
    ['bomb-png-over-cap', 'bomb2.png', bombPng(2100, 2000, 2000)],
    ['bomb-png-65535x65535-blank-rows', 'bomb3.png', bombPng(65535, 65535, 64)],
  ];
  for (const [kind, name, bytes] of nonImages) cases.push(bytesCase(kind, name, bytes));
  // Extreme aspect ratios and tiny sizes, written by sharp.
  const solid = (w: number, h: number) =>
    sharp({ create: { width: w, height: h, channels: 3, background: '#4080c0' } });
  const shapes: [string, string, () => Promise<Buffer>][] = [
    ['aspect-1x100000-png', 'tall.png', () => solid(1, 100_000).png().toBuffer()],
    ['aspect-100000x1-png', 'wide.png', () => solid(100_000, 1).png().toBuffer()],
    ['aspect-1x100000-tiff', 'tall.tif', () => solid(1, 100_000).tiff({ compression: 'deflate' }).toBuffer()],
    ['aspect-2x30000-jpeg', 'tall.jpg', () => solid(2, 30_000).jpeg().toBuffer()],
    ['aspect-16383x1-webp', 'wide.webp', () => solid(16_383, 1).webp().toBuffer()],
    ['aspect-1x1', 'dot.png', () => solid(1, 1).png().toBuffer()],
    ['aspect-1x1-gif', 'dot.gif', () => solid(1, 1).gif().toBuffer()],
    ['aspect-3x2-jpeg', 'small.jpg', () => solid(3, 2).jpeg().toBuffer()],
    ['aspect-5x1-avif', 'strip.avif', () => solid(5, 1).avif().toBuffer()],
  ];
  for (const [kind, name, make] of shapes) cases.push(bytesCase(kind, name, await make()));
  // Not regular files, and hostile names.
  cases.push({
    kind: 'folder-named-png',
    fileName: 'folder.png',
    make: (dir) => {
      const d = path.join(dir, 'folder.png');
      fs.mkdirSync(d);
      return d;
    },
  });
  cases.push({
    kind: 'folder-of-corrupt',
    fileName: 'set',
    make: (dir) => {
      const d = path.join(dir, 'set');
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'a.png'), validPng.subarray(0, 50));
      fs.writeFileSync(path.join(d, 'b.jpg'), 'x');
      fs.writeFileSync(path.join(d, 'c.png'), validPng);
      return d;
    },
  });
  cases.push({
    kind: 'symlink-loop',
    fileName: 'loop.png',
    make: (dir) => {
      const f = path.join(dir, 'loop.png');
      fs.symlinkSync('loop.png', f);
      return f;
    },
  });
  cases.push({
    kind: 'symlink-dangling',
    fileName: 'gone.png',
    make: (dir) => {
      const f = path.join(dir, 'gone.png');
      fs.symlinkSync('nowhere.png', f);
      return f;
    },
  });
  cases.push({
    kind: 'symlink-to-image',
    fileName: 'link.png',
    make: (dir) => {
      fs.writeFileSync(path.join(dir, 'real.png'), validPng);
      const f = path.join(dir, 'link.png');
      fs.symlinkSync('real.png', f);
      return f;
    },
  });
  cases.push({ kind: 'missing', fileName: 'missing.png', make: (dir) => path.join(dir, 'missing.png') });
  cases.push({
    kind: 'under-a-file',
    fileName: 'x',
    make: (dir) => {
      fs.writeFileSync(path.join(dir, 'file'), 'x');
      return path.join(dir, 'file', 'photo.png');
    },
  });
  const longBase = 'l'.repeat(250); // + '.fuzzstyle.png': over the usual 255-byte name limit
  cases.push(bytesCase('name-too-long-for-output', `${longBase}.png`, validPng));
  cases.push(bytesCase('name-unicode', 'фото 写真 🎨.png', validPng));
  cases.push(bytesCase('name-newline', 'line\nbreak.png', validPng));
  cases.push(bytesCase('name-dash', '-rf .png', validPng));
  cases.push(bytesCase('name-dots', '..png', validPng));
  cases.push(bytesCase('name-no-stem', '.png', validPng));
  cases.push(bytesCase('name-shell', '$(touch pwned);`id`.png', validPng));
  cases.push({
    kind: 'output-name-taken',
    fileName: 'photo.png',
    make: (dir) => {
      const f = path.join(dir, 'photo.png');
      fs.writeFileSync(f, validPng);
      fs.writeFileSync(path.join(dir, 'photo.fuzzstyle.png'), 'an earlier result that must survive');
      fs.mkdirSync(path.join(dir, 'photo.fuzzstyle-2.png'));
      fs.symlinkSync('/nonexistent', path.join(dir, 'photo.fuzzstyle-3.png'));
      return f;
    },
  });
  return cases;
}

/** Stylize options that vary with the input (formats, colours, strength, output folder, scale). */
export function optionsFor(i: number, dir: string): StylizeOptions {
  const formats = ['same', 'same', 'same', 'png', 'jpeg', 'webp', 'tiff', 'gif', 'avif'] as const;
  return {
    format: formats[i % formats.length],
    strength: [1, 0.5, 0][i % 3],
    colorMode: (['none', 'luminance', 'histogram'] as const)[(i % 5) % 3],
    ...(i % 7 === 3 ? { outDir: path.join(dir, 'out', 'nested') } : {}),
    ...(i % 11 === 5 ? { scale: 0.5 } : {}),
  };
}

/** Stylizes `file` and checks the result: foreseen errors only, each output a readable image of the right size. */
export async function stylizeAndCheck(
  engine: StylizeEngine,
  style: string,
  file: string,
  options: StylizeOptions,
  dir: string,
): Promise<RunResult> {
  const r = await stylizeFiles({ inputs: [file], style, options, maxInputPixels: FUZZ_MAX_PIXELS }, engine, {});
  const code = checkErrorInfos(r.failures.map((f) => f.error));
  for (const o of r.outputs) {
    const input = await readImage(o.input, { maxPixels: FUZZ_MAX_PIXELS });
    const out = await readImage(o.output, { maxPixels: FUZZ_MAX_PIXELS });
    // Animations (like videos) keep their size; `scale` sets only their stroke size.
    const scale = (await isAnimatedImage(o.input)) ? 1 : (options.scale ?? 1);
    const w = Math.max(1, Math.round(input.width * scale));
    const h = Math.max(1, Math.round(input.height * scale));
    if (out.width !== w || out.height !== h)
      throw new CrashError(`${o.output} is ${out.width}×${out.height}, expected ${w}×${h}`);
  }
  return { outputs: r.outputs.map((o) => path.relative(dir, o.output)), note: code ?? 'ok' };
}

export const family: Family = {
  name: 'images',
  async build(env) {
    await initTfjsBackend('cpu');
    // Three styles in turn: more than ONNX Runtime keeps sessions for, so sessions are evicted and reopened.
    const styles = [await writeTinyStyle(path.join(env.dir, 'style'))];
    for (const k of [2, 3])
      styles.push(await writeTinyStyle(path.join(env.dir, `style-${k}`), `fuzzstyle${k}`, undefined, 7 + k));
    const style = styles[0];
    const cacheDir = path.join(env.dir, 'cache');
    const onnx = await createStylizeEngine({ runtime: 'onnx', cacheDir, threads: 1 });
    const tfjs = await createStylizeEngine({ runtime: 'tfjs', cacheDir, tfjsBackend: 'cpu' });
    const cases = await imageCases();
    // Warm-up: the first image per engine loads the network (cached for the run, not a leak).
    const warm = path.join(env.dir, 'warm-up');
    fs.mkdirSync(warm);
    const seed = path.join(warm, 'seed.png');
    fs.writeFileSync(seed, (await imageSeeds())[0].bytes);
    for (const st of styles) await stylizeFiles({ inputs: [seed], style: st, options: {} }, onnx, {});
    await stylizeFiles({ inputs: [seed], style, options: {} }, tfjs, {});
    fs.rmSync(warm, { recursive: true });
    const inputs: FuzzInput[] = cases.map((c, i) => {
      let file = '';
      return {
        kind: c.kind,
        async prepare(ctx) {
          file = await c.make(ctx.dir);
        },
        // Every 8th input runs on tfjs so its tensors are counted; the rest on ONNX Runtime.
        run: (ctx) =>
          stylizeAndCheck(
            i % 8 === 0 ? tfjs : onnx,
            i % 8 === 0 ? style : styles[i % 3],
            file,
            optionsFor(i, ctx.dir),
            ctx.dir,
          ),
      };
    });
    return {
      inputs,
      writeRoots: [...styles, cacheDir],
      usesTfjs: true,
      async dispose() {
        onnx.dispose();
        tfjs.dispose();
      },
    };
  },
};
