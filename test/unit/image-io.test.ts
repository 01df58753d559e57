// Image decode/encode: every format round-trips, orientation/colour/bit-depth conversions land on
// known pixel values, alpha survives, and bad files fail with one clear error and touch nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import {
  coverCrop,
  decodeImage,
  DEFAULT_MAX_PIXELS,
  maxSide,
  readImage,
  resizeFloatImage,
  resizeImage,
  type DecodedImage,
} from '../../src/io/image';
import { encodeImage } from '../../src/io/imageEncode';
import { IMAGE_FORMATS } from '../../src/io/formats';
import { rejectsWith } from '../helpers/errors';
import { bombPng, chunk, GREY, GREY_ALPHA, makePng, PALETTE, RGB, RGBA } from '../helpers/png';
import { makeCmykTiff } from '../helpers/tiff';
import { hasSharedData, shared, tempDir } from '../helpers/paths';

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** A smooth RGB test card: red ramps across, green down, blue waves. */
function testCard(width: number, height: number): Float32Array {
  const rgb = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      rgb[i] = Math.round((255 * x) / Math.max(1, width - 1));
      rgb[i + 1] = Math.round((255 * y) / Math.max(1, height - 1));
      rgb[i + 2] = Math.round(128 + 60 * Math.sin(x / 5 + y / 7));
    }
  }
  return rgb;
}

function pixel(img: DecodedImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return [...img.rgb.data.subarray(i, i + 3)];
}

function assertClose(actual: number[], expected: number[], tol: number, what: string): void {
  assert.ok(
    actual.every((v, k) => Math.abs(v - expected[k]) <= tol),
    `${what}: got [${actual}], expected [${expected}] ± ${tol}`,
  );
}

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

test('every writable format round-trips with its size kept and pixels close', async () => {
  const W = 37,
    H = 23;
  const rgb = testCard(W, H);
  // mean absolute error allowed per format: lossless formats must be exact
  const tolerance: Record<string, number> = { png: 0, tiff: 0, jpeg: 2.5, webp: 4, avif: 4, gif: 6 };
  for (const format of IMAGE_FORMATS) {
    const bytes = await encodeImage({ width: W, height: H, rgb }, format);
    const img = await decodeImage(bytes);
    assert.equal(img.format, format);
    assert.deepEqual([img.width, img.height, img.rgb.width, img.rgb.height, img.rgb.channels], [W, H, W, H, 3]);
    assert.equal(img.rgb.data.length, W * H * 3);
    assert.equal(img.alpha, undefined, `${format}: opaque image must have no alpha`);
    const err = meanAbsDiff(img.rgb.data, rgb);
    assert.ok(err <= tolerance[format], `${format}: mean abs error ${err.toFixed(2)} > ${tolerance[format]}`);
  }
});

test('encodeImage clamps and rounds floats, and checks its arguments', async () => {
  const rgb = Float32Array.from([-20, 0.4, 0.6, 254.5, 300, NaN]);
  const img = await decodeImage(await encodeImage({ width: 2, height: 1, rgb }, 'png'));
  assert.deepEqual([...img.rgb.data], [0, 0, 1, 255, 255, 0]);
  await rejectsWith(encodeImage({ width: 2, height: 2, rgb }, 'png'), 'bad-input', /expected 2×2×3/);
  await rejectsWith(encodeImage({ width: 2, height: 1, rgb, alpha: new Uint8Array(3) }, 'png'), 'bad-input', /alpha/);
  await rejectsWith(encodeImage({ width: 2, height: 1, rgb }, 'jpeg', { quality: 0 }), 'bad-input', /quality/);
  // higher quality, bigger file: the option reaches the encoder
  const card = { width: 64, height: 64, rgb: testCard(64, 64) };
  assert.ok((await encodeImage(card, 'jpeg', { quality: 30 })).length < (await encodeImage(card, 'jpeg')).length);
});

// Quadrants of a 16×8 stored image, TL red, TR green, BL blue, BR white.
const RED = [255, 0, 0],
  GREEN = [0, 255, 0],
  BLUE = [0, 0, 255],
  WHITE = [255, 255, 255];
function quadrants(W: number, H: number): Buffer {
  const buf = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const c = y < H / 2 ? (x < W / 2 ? RED : GREEN) : x < W / 2 ? BLUE : WHITE;
      buf.set(c, (y * W + x) * 3);
    }
  }
  return buf;
}

test('EXIF orientation 6, 8 and 3 come out upright (JPEG, PNG, WebP)', async () => {
  const W = 32,
    H = 16;
  const raw = quadrants(W, H);
  // Displayed quadrant colours [TL, TR, BL, BR] for each orientation (EXIF 2.32, tag 0x0112).
  const expected: Record<number, number[][]> = {
    1: [RED, GREEN, BLUE, WHITE],
    6: [BLUE, RED, WHITE, GREEN], // stored row 0 is the right side, stored column 0 the top
    8: [GREEN, WHITE, RED, BLUE], // stored row 0 is the left side, stored column 0 the bottom
    3: [WHITE, BLUE, GREEN, RED], // rotated 180°
  };
  for (const format of ['jpeg', 'png', 'webp'] as const) {
    for (const orientation of [1, 6, 8, 3]) {
      let p = sharp(raw, { raw: { width: W, height: H, channels: 3 } }).withMetadata({ orientation });
      p =
        format === 'jpeg'
          ? p.jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
          : format === 'png'
            ? p.png()
            : p.webp({ lossless: true });
      const img = await decodeImage(await p.toBuffer());
      const what = `${format} orientation ${orientation}`;
      assert.equal(img.source.orientation, orientation, what);
      assert.deepEqual([img.source.width, img.source.height], [W, H], `${what}: stored size`);
      const swapped = orientation === 6 || orientation === 8;
      assert.deepEqual([img.width, img.height], swapped ? [H, W] : [W, H], `${what}: displayed size`);
      // sample the centre of each displayed quadrant
      const [qx, qy] = [img.width / 4, img.height / 4];
      const got = [pixel(img, qx, qy), pixel(img, 3 * qx, qy), pixel(img, qx, 3 * qy), pixel(img, 3 * qx, 3 * qy)];
      got.forEach((c, k) =>
        assertClose(c, expected[orientation][k], 6, `${what} quadrant ${['TL', 'TR', 'BL', 'BR'][k]}`),
      );
    }
  }
});

test('alpha is kept: RGBA PNG and WebP in, identical alpha out; JPEG flattens onto white', async () => {
  const W = 20,
    H = 10;
  const rgba = Buffer.alloc(W * H * 4);
  const alpha = new Uint8Array(W * H);
  for (let i = 0; i < W * H; i++) {
    alpha[i] = (i * 37) % 256;
    rgba.set([200, 100, 50, alpha[i]], i * 4);
  }
  for (const format of ['png', 'webp'] as const) {
    let p = sharp(rgba, { raw: { width: W, height: H, channels: 4 } });
    p = format === 'png' ? p.png() : p.webp({ lossless: true });
    const img = await decodeImage(await p.toBuffer());
    assert.ok(img.alpha, `${format}: alpha expected`);
    assert.deepEqual([...img.alpha], [...alpha], `${format}: alpha decoded`);
    assert.equal(img.source.hasAlpha, true);
    // straight (not premultiplied) colour where alpha > 0
    assertClose(pixel(img, 5, 5), [200, 100, 50], 0, `${format}: colour under alpha`);
    // the stylizer replaces RGB and puts the original alpha back
    const stylized = { width: W, height: H, rgb: new Float32Array(W * H * 3).fill(77), alpha: img.alpha };
    for (const out of ['png', 'webp', 'tiff'] as const) {
      const back = await decodeImage(await encodeImage(stylized, out));
      assert.deepEqual([...back.alpha!], [...alpha], `${format} → ${out}: alpha identical`);
    }
    // AVIF codes alpha lossily, like its colour
    const avif = await decodeImage(await encodeImage(stylized, 'avif'));
    assert.ok(meanAbsDiff(avif.alpha!, alpha) < 3, `${format} → avif: alpha close`);
  }
  // JPEG has no alpha: transparent → background (white), opaque → the colour itself
  const jpeg = await decodeImage(
    await encodeImage(
      { width: 2, height: 1, rgb: Float32Array.from([10, 20, 30, 10, 20, 30]), alpha: Uint8Array.from([0, 255]) },
      'jpeg',
      { quality: 100 },
    ),
  );
  assert.equal(jpeg.alpha, undefined);
  assertClose(pixel(jpeg, 0, 0), WHITE, 3, 'alpha 0 over white');
  assertClose(pixel(jpeg, 1, 0), [10, 20, 30], 3, 'alpha 255 kept');
  // fully opaque RGBA carries no alpha (nothing to put back)
  const opaque = await decodeImage(
    await sharp(Buffer.alloc(16, 255), { raw: { width: 2, height: 2, channels: 4 } })
      .png()
      .toBuffer(),
  );
  assert.equal(opaque.alpha, undefined);
  assert.equal(opaque.source.hasAlpha, true);
});

test('16-bit PNG and TIFF become correctly rounded 8-bit values', async () => {
  const samples = [0x0000, 0xffff, 0x8080, 0x1234, 0xff00, 0x00ff, 0x7f80, 0x807f, 0x0180];
  const expected = samples.map((v) => Math.round((v * 255) / 65535)); // [0,255,128,18,254,1,127,128,1]
  assert.deepEqual(expected, [0, 255, 128, 18, 254, 1, 127, 128, 1]);
  const rgb16 = makePng({ width: 3, height: 1, bitDepth: 16, colourType: RGB, samples });
  const tiff16 = await sharp(rgb16).toColourspace('rgb16').tiff({ compression: 'lzw' }).toBuffer();
  for (const [label, bytes] of [
    ['png', rgb16],
    ['tiff', tiff16],
  ] as const) {
    const img = await decodeImage(bytes);
    assert.equal(img.source.bitDepth, 16, label);
    assert.equal(img.source.colourSpace, 'rgb16', label);
    assert.deepEqual([...img.rgb.data], expected, label);
  }
  const grey16 = await decodeImage(makePng({ width: 9, height: 1, bitDepth: 16, colourType: GREY, samples }));
  assert.deepEqual(
    [...grey16.rgb.data].filter((_, i) => i % 3 === 0),
    expected,
  );
  // 16-bit grey + alpha: both rounded
  const ga16 = await decodeImage(
    makePng({ width: 2, height: 1, bitDepth: 16, colourType: GREY_ALPHA, samples: [0x8080, 0x00ff, 0xff00, 0xffff] }),
  );
  assert.deepEqual([...ga16.rgb.data], [128, 128, 128, 254, 254, 254]);
  assert.deepEqual([...ga16.alpha!], [1, 255]);
});

test('CMYK TIFF and JPEG are converted to sRGB: paper white, process inks, rich red', async () => {
  // exact ink values (C, M, Y, K) written by hand, then the same pixels as a CMYK JPEG
  const inks = [
    [0, 0, 0, 0],
    [255, 0, 0, 0],
    [0, 255, 0, 0],
    [0, 0, 255, 0],
    [0, 0, 0, 255],
    [0, 255, 255, 0],
  ];
  const tiff = makeCmykTiff(inks.length, 1, inks.flat());
  const jpeg = await sharp(tiff)
    .pipelineColourspace('cmyk')
    .toColourspace('cmyk')
    .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
    .toBuffer();
  const decoded: DecodedImage[] = [];
  for (const [label, bytes] of [
    ['tiff', tiff],
    ['jpeg', jpeg],
  ] as const) {
    const meta = await sharp(bytes).metadata();
    assert.deepEqual([meta.space, meta.channels], ['cmyk', 4], `${label} fixture is CMYK`);
    const img = await decodeImage(bytes);
    decoded.push(img);
    assert.equal(img.source.colourSpace, 'cmyk');
    assert.equal(img.alpha, undefined, `${label}: K is not alpha`);
    const [white, cyan, magenta, yellow, black, red] = inks.map((_, x) => pixel(img, x, 0));
    // Printed colours through sharp's built-in CMYK profile; the bounds hold for any common
    // press profile (US Web Coated: C ≈ (0,174,239), M ≈ (236,0,140), Y ≈ (255,242,0)).
    // Reading the inks as RGB without conversion would fail every one of them.
    assertClose(white, WHITE, 2, `${label} paper white`);
    assert.ok(cyan[0] < 30 && cyan[2] > 200 && cyan[1] > 120 && cyan[1] < cyan[2], `${label} cyan ${cyan}`);
    assert.ok(
      magenta[0] > 200 && magenta[1] < 30 && magenta[2] > 100 && magenta[2] < 170,
      `${label} magenta ${magenta}`,
    );
    assert.ok(yellow[0] > 240 && yellow[1] > 220 && yellow[2] < 40, `${label} yellow ${yellow}`);
    assert.ok(
      black.every((v) => v < 45),
      `${label} black ${black}`,
    );
    assert.ok(red[0] > 200 && red[1] < 40 && red[2] < 40, `${label} red ${red}`);
  }
  assert.ok(meanAbsDiff(decoded[0].rgb.data, decoded[1].rgb.data) < 2, 'CMYK JPEG and TIFF agree');
});

test('ICC profiles are applied: Display P3 red (8 and 16 bit) decodes to sRGB red', async () => {
  const red = await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 255, g: 0, b: 0 } } })
    .png()
    .toBuffer();
  const p3 = await sharp(red).withIccProfile('p3').png().toBuffer();
  const { icc } = await sharp(p3).metadata();
  // the stored numbers are P3 ones, far from (255, 0, 0)…
  const stored = [...(await sharp(p3, { ignoreIcc: true }).raw().toBuffer()).subarray(0, 3)];
  assertClose(stored, [234, 51, 34], 2, 'fixture is P3-encoded');
  // …and the same numbers as a 16-bit PNG with the same profile in an iCCP chunk
  const png16 = makePng({ width: 1, height: 1, bitDepth: 16, colourType: RGB, samples: stored.map((v) => v * 257) });
  const iccp = chunk('iCCP', Buffer.concat([Buffer.from('P3\0\0', 'latin1'), zlib.deflateSync(icc!)]));
  const p3_16 = Buffer.concat([png16.subarray(0, 33), iccp, png16.subarray(33)]); // after IHDR
  for (const [label, bytes] of [
    ['8-bit', p3],
    ['16-bit', p3_16],
  ] as const) {
    const img = await decodeImage(bytes);
    assert.equal(img.source.hasProfile, true);
    // sharp alone returns (234, 51, 34) for the 16-bit file: P3 numbers labelled sRGB
    assertClose(pixel(img, 0, 0), RED, 8, `${label} P3 red`);
  }
});

test('greyscale, grey + alpha, 1-bit and palette PNGs decode to exact RGB(A)', async () => {
  const grey = await decodeImage(
    makePng({ width: 3, height: 1, bitDepth: 8, colourType: GREY, samples: [0, 77, 255] }),
  );
  assert.deepEqual([...grey.rgb.data], [0, 0, 0, 77, 77, 77, 255, 255, 255]);
  assert.equal(grey.alpha, undefined);
  assert.equal(grey.source.colourSpace, 'b-w');

  const ga = await decodeImage(
    makePng({ width: 2, height: 1, bitDepth: 8, colourType: GREY_ALPHA, samples: [10, 0, 200, 128] }),
  );
  assert.deepEqual([...ga.rgb.data], [10, 10, 10, 200, 200, 200]);
  assert.deepEqual([...ga.alpha!], [0, 128]);

  const bits = await decodeImage(
    makePng({ width: 4, height: 1, bitDepth: 1, colourType: GREY, samples: [0, 1, 1, 0] }),
  );
  assert.deepEqual(
    [...bits.rgb.data].filter((_, i) => i % 3 === 0),
    [0, 255, 255, 0],
  );
  assert.equal(bits.source.bitDepth, 1);

  const pal = await decodeImage(
    makePng({
      width: 3,
      height: 1,
      bitDepth: 2,
      colourType: PALETTE,
      samples: [0, 1, 2],
      palette: [
        [255, 0, 0],
        [0, 255, 0],
        [1, 2, 3],
      ],
      paletteAlpha: [255, 0],
    }),
  );
  assert.equal(pal.source.isPalette, true);
  assert.deepEqual([...pal.rgb.data], [255, 0, 0, 0, 255, 0, 1, 2, 3]);
  assert.deepEqual([...pal.alpha!], [255, 0, 255]);

  const rgba = await decodeImage(
    makePng({ width: 1, height: 1, bitDepth: 8, colourType: RGBA, samples: [9, 8, 7, 6] }),
  );
  assert.deepEqual([...rgba.rgb.data, ...rgba.alpha!], [9, 8, 7, 6]);
});

test('animated GIF and WebP: the first frame only', async () => {
  // two 4×3 frames stacked: red then blue
  const frames = Buffer.alloc(4 * 6 * 3);
  for (let i = 0; i < 24; i++) frames.set(i < 12 ? RED : BLUE, i * 3);
  const raw = { width: 4, height: 6, channels: 3 as const, pageHeight: 3 };
  const gif = await sharp(frames, { raw }).gif().toBuffer();
  const webp = await sharp(frames, { raw }).webp({ lossless: true }).toBuffer();
  for (const [label, bytes] of [
    ['gif', gif],
    ['webp', webp],
  ] as const) {
    const img = await decodeImage(bytes);
    assert.equal(img.source.pages, 2, `${label} fixture has two frames`);
    assert.deepEqual([img.width, img.height], [4, 3], label);
    for (let y = 0; y < 3; y++)
      for (let x = 0; x < 4; x++) assertClose(pixel(img, x, y), RED, 0, `${label} (${x},${y})`);
    assert.equal(img.alpha, undefined, `${label}: opaque frame has no alpha`);
  }
});

test('odd sizes: 1×1, 3×5 and 1×100000 decode; formats that cannot hold 100000 rows say so', async () => {
  for (const [w, h] of [
    [1, 1],
    [3, 5],
    [5, 3],
  ]) {
    const rgb = testCard(w, h);
    for (const format of IMAGE_FORMATS) {
      const img = await decodeImage(await encodeImage({ width: w, height: h, rgb }, format));
      assert.deepEqual([img.width, img.height], [w, h], `${format} ${w}×${h}`);
    }
  }
  const tall = { width: 1, height: 100_000, rgb: new Float32Array(300_000).fill(90) };
  const png = await encodeImage(tall, 'png');
  const img = await decodeImage(png);
  assert.deepEqual([img.width, img.height], [1, 100_000]);
  assert.ok(img.rgb.data.every((v) => v === 90));
  await rejectsWith(encodeImage(tall, 'webp'), 'image-too-large', /WebP cannot store a 1×100000 image.*PNG or TIFF/);
  await rejectsWith(encodeImage(tall, 'jpeg'), 'image-too-large', /JPEG cannot store/);
  await rejectsWith(encodeImage(tall, 'avif'), 'image-too-large', /AVIF cannot store/);
  const tiff = await decodeImage(await encodeImage(tall, 'tiff'));
  assert.equal(tiff.height, 100_000);
  // a preview of it keeps at least one pixel across
  const preview = await resizeImage(img, maxSide(512));
  assert.deepEqual([preview.width, preview.height], [1, 512]);
});

test('bad files fail with one clear error, write nothing, and stay byte-identical', async () => {
  const dir = tempDir('fst-badimg-');
  const good = await sharp({
    create: {
      width: 600,
      height: 400,
      channels: 3,
      background: '#000',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  })
    .png()
    .toBuffer();
  const goodJpeg = await sharp(good).jpeg().toBuffer();
  const files: Record<string, Buffer> = {
    'truncated.png': good.subarray(0, Math.floor(good.length / 2)),
    'truncated.jpg': goodJpeg.subarray(0, Math.floor(goodJpeg.length / 2)),
    'random.jpg': crypto.randomBytes(5000),
    'empty.png': Buffer.alloc(0),
    'notes.png': Buffer.from('This is a text file pretending to be a PNG.\n'.repeat(20)),
    'bomb.png': bombPng(100_000, 100_000),
    'blank-bomb.png': bombPng(12_000, 12_000, 12_000), // 144 MP of real zero rows in ~18 KB
    'header-only.png': good.subarray(0, 40),
    'drawing.svg': Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
    ),
  };
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes);
  const hashes = Object.fromEntries(Object.keys(files).map((n) => [n, sha(path.join(dir, n))]));
  const listing = fs.readdirSync(dir).sort();

  const f = (n: string) => path.join(dir, n);
  await rejectsWith(readImage(f('truncated.png')), 'bad-image', /truncated\.png is damaged or truncated/);
  await rejectsWith(readImage(f('truncated.jpg')), 'bad-image', /truncated\.jpg is damaged or truncated/);
  await rejectsWith(
    readImage(f('random.jpg')),
    'bad-image',
    /random\.jpg is not an image in a supported format \(PNG, JPEG/,
  );
  await rejectsWith(readImage(f('empty.png')), 'bad-image', /empty\.png is empty \(0 bytes\)/);
  await rejectsWith(readImage(f('notes.png')), 'bad-image', /notes\.png is not an image in a supported format/);
  await rejectsWith(
    readImage(f('bomb.png')),
    'image-too-large',
    /bomb\.png is 100000×100000 pixels \(10000 megapixels\); the limit is 100 megapixels/,
  );
  await rejectsWith(
    readImage(f('blank-bomb.png')),
    'image-too-large',
    /12000×12000 pixels \(144 megapixels\); the limit is 100 megapixels/,
  );
  await rejectsWith(readImage(f('header-only.png')), 'bad-image', /damaged or truncated/);
  await rejectsWith(readImage(f('drawing.svg')), 'bad-image', /SVG document, not a raster image/);
  await rejectsWith(readImage(f('missing.png')), 'not-found', /missing\.png does not exist/);
  await rejectsWith(readImage(path.join(f('notes.png'), 'under-a-file.png')), 'not-found', /does not exist/);
  await rejectsWith(readImage(dir), 'bad-input', /is a folder, not an image file/);
  // a lower cap applies to ordinary images too, and the message names both sizes
  await rejectsWith(
    readImage(f('blank-bomb.png'), { maxPixels: 1_000_000 }),
    'image-too-large',
    /144 megapixels\); the limit is 1 megapixels/,
  );
  await rejectsWith(
    decodeImage(good, { maxPixels: 200_000, name: 'x.png' }),
    'image-too-large',
    /x\.png is 600×400 pixels \(0\.24 megapixels\); the limit is 0\.2 megapixels/,
  );
  await rejectsWith(decodeImage(good, { maxPixels: -1 }), 'bad-input', /maxPixels/);
  assert.equal(DEFAULT_MAX_PIXELS, 100_000_000);
  // Infinity lifts our cap (sharp's own is then off too)
  assert.equal((await decodeImage(good, { maxPixels: Infinity })).width, 600);

  assert.deepEqual(fs.readdirSync(dir).sort(), listing, 'no file written, no temp file left');
  for (const n of Object.keys(files)) assert.equal(sha(f(n)), hashes[n], `${n} unchanged`);
});

test('resizing: max side keeps the aspect ratio, cover crops the centre, decode-time resize agrees', async () => {
  // 300×100: left third red, middle green, right third blue
  const W = 300,
    H = 100;
  const rgb = new Float32Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) rgb.set(x < 100 ? RED : x < 200 ? GREEN : BLUE, (y * W + x) * 3);
  const alpha = new Uint8Array(W * H).fill(255).fill(0, 0, W * 10); // top 10 rows transparent
  const img = { width: W, height: H, rgb: { width: W, height: H, channels: 3, data: rgb }, alpha };

  const small = await resizeImage(img, maxSide(60));
  assert.deepEqual([small.width, small.height, small.rgb.width, small.rgb.height], [60, 20, 60, 20]);
  assert.equal(small.alpha![0], 0);
  assert.equal(small.alpha![small.alpha!.length - 1], 255);
  // never enlarged unless asked
  const same = await resizeImage(img, maxSide(1000));
  assert.deepEqual([same.width, same.height], [W, H]);
  const big = await resizeImage(img, maxSide(600, true));
  assert.deepEqual([big.width, big.height], [600, 200]);

  const crop = await coverCrop(img.rgb, 64, 64);
  assert.deepEqual([crop.width, crop.height, crop.channels], [64, 64, 3]);
  // the centre third is green, and nothing of the red or blue thirds survives except edge blur
  const centre = (32 * 64 + 32) * 3;
  assertClose([...crop.data.subarray(centre, centre + 3)], GREEN, 1, 'cover-crop centre');
  const edge = (32 * 64 + 2) * 3;
  assertClose([...crop.data.subarray(edge, edge + 3)], GREEN, 8, 'cover-crop left edge');

  const exact = await resizeFloatImage(img.rgb, { width: 10, height: 40, fit: 'fill' });
  assert.deepEqual([exact.width, exact.height], [10, 40]);

  const png = await encodeImage({ width: W, height: H, rgb }, 'png');
  const direct = await decodeImage(png, { resize: { width: 64, height: 64, fit: 'cover' } });
  assert.deepEqual([direct.width, direct.height], [64, 64]);
  assert.ok(meanAbsDiff(direct.rgb.data, crop.data) < 2, 'decode-time cover crop matches coverCrop');
  await rejectsWith(decodeImage(png, { resize: { width: 0, height: 64, fit: 'cover' } }), 'bad-input', /resize sizes/);
});

test('real photos decode to their sizes', async (t) => {
  if (!hasSharedData(t)) return;
  const sizes: Record<string, [number, number]> = {
    'astronaut.png': [512, 512],
    'coffee.png': [600, 400],
    'rocket.jpg': [640, 427],
    'starry_night.jpg': [752, 600],
  };
  for (const [name, [w, h]] of Object.entries(sizes)) {
    const file = shared('redistributable', name);
    const before = sha(file);
    const img = await readImage(file);
    assert.deepEqual([img.width, img.height, img.rgb.data.length], [w, h, w * h * 3], name);
    assert.equal(img.format, name.endsWith('.png') ? 'png' : 'jpeg');
    const mean = img.rgb.data.reduce((a, b) => a + b, 0) / img.rgb.data.length;
    assert.ok(mean > 20 && mean < 235, `${name}: plausible mean ${mean}`);
    assert.equal(sha(file), before, `${name} unchanged`);
  }
});

test('4096×4096 decode + encode timings (printed, not asserted)', async (t) => {
  const N = 4096;
  const src = await sharp({
    create: { width: N, height: N, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
  })
    .blur(2)
    .raw()
    .toBuffer();
  const rgb = Float32Array.from(src);
  const lines: string[] = [];
  for (const format of ['png', 'jpeg', 'webp'] as const) {
    let t0 = performance.now();
    const bytes = await encodeImage({ width: N, height: N, rgb }, format);
    const encode = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const img = await decodeImage(bytes);
    const decode = (performance.now() - t0) / 1000;
    assert.deepEqual([img.width, img.height], [N, N]);
    lines.push(
      `${format}: encode ${encode.toFixed(2)} s, decode ${decode.toFixed(2)} s, ${(bytes.length / 1e6).toFixed(1)} MB`,
    );
  }
  for (const l of lines) t.diagnostic(`4096² ${l}`);
  console.log(lines.map((l) => `4096² ${l}`).join('\n'));
});
