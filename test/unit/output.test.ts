// Output naming and atomic writes: never an existing name, never a clobbered file, never a
// temp file left behind, and a precise error for each way the file system can refuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  fileSystemError,
  outputPathFor,
  sanitizeStyleName,
  writeDirAtomic,
  writeFileAtomic,
  writeImageFile,
  writeStylizedImage,
} from '../../src/io/output';
import { decodeImage, readImage } from '../../src/io/image';
import { encodeImage } from '../../src/io/imageEncode';
import { formatFromExtension, outputFormatFor } from '../../src/io/formats';
import { StyleTransferError, type ErrorCode } from '../../src/protocol/errors';
import { rejectsWith } from '../helpers/errors';
import { tempDir } from '../helpers/paths';

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const tmpFiles = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.tmp') || n.endsWith('.old'));

const small = { width: 4, height: 3, rgb: Float32Array.from({ length: 36 }, (_, i) => i * 7) };

test('style names become safe file-name parts', () => {
  assert.equal(sanitizeStyleName('udnie'), 'udnie');
  assert.equal(sanitizeStyleName('Starry Night'), 'Starry-Night');
  assert.equal(sanitizeStyleName('a/b\\c:d*e?f"g<h>i|j'), 'a-b-c-d-e-f-g-h-i-j');
  assert.equal(sanitizeStyleName('../../etc/passwd'), 'etc-passwd');
  assert.equal(sanitizeStyleName('  tab\there\nnewline  '), 'tab-here-newline');
  assert.equal(sanitizeStyleName('...'), 'styled');
  assert.equal(sanitizeStyleName(''), 'styled');
  assert.equal(sanitizeStyleName('La Grande Vague — 神奈川沖浪裏'), 'La-Grande-Vague-—-神奈川沖浪裏');
  assert.equal(sanitizeStyleName('x'.repeat(300)).length, 64);
});

test('extensions map to formats; unwritable formats fall back to PNG', () => {
  assert.equal(formatFromExtension('a/b.JPEG'), 'jpeg');
  assert.equal(formatFromExtension('b.tif'), 'tiff');
  assert.equal(formatFromExtension('b.heic'), undefined);
  assert.equal(formatFromExtension('noext'), undefined);
  assert.equal(outputFormatFor('heif'), 'png');
  assert.equal(outputFormatFor('webp'), 'webp');
});

test('outputPathFor: name.<style>.ext beside the input, then -2, -3 …, never an existing path', async () => {
  const dir = tempDir('fst-out-');
  const input = path.join(dir, 'photo.JPG');
  fs.writeFileSync(input, 'original');
  const first = await outputPathFor(input, 'Starry Night');
  assert.equal(first, path.join(dir, 'photo.Starry-Night.JPG')); // the input's own extension spelling
  fs.writeFileSync(first, 'x');
  assert.equal(await outputPathFor(input, 'Starry Night'), path.join(dir, 'photo.Starry-Night-2.JPG'));
  fs.writeFileSync(path.join(dir, 'photo.Starry-Night-2.JPG'), 'x');
  // a dangling symlink still takes the name
  fs.symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'photo.Starry-Night-3.JPG'));
  assert.equal(await outputPathFor(input, 'Starry Night'), path.join(dir, 'photo.Starry-Night-4.JPG'));
  // a folder with that name counts too
  fs.mkdirSync(path.join(dir, 'photo.Starry-Night-4.JPG'));
  assert.equal(await outputPathFor(input, 'Starry Night'), path.join(dir, 'photo.Starry-Night-5.JPG'));

  // format changes the extension to the canonical one; same format keeps the input's
  assert.equal(await outputPathFor(input, 'udnie', { format: 'png' }), path.join(dir, 'photo.udnie.png'));
  assert.equal(await outputPathFor(input, 'udnie', { format: 'jpeg' }), path.join(dir, 'photo.udnie.JPG'));
  assert.equal(await outputPathFor(path.join(dir, 'img.heic'), 'udnie'), path.join(dir, 'img.udnie.png'));
  assert.equal(await outputPathFor(path.join(dir, 'archive.tar.gz'), 'udnie'), path.join(dir, 'archive.tar.udnie.png'));
  assert.equal(
    await outputPathFor(path.join(dir, 'noext'), 'udnie', { format: 'webp' }),
    path.join(dir, 'noext.udnie.webp'),
  );
  // another output folder, even one that does not exist yet
  const other = path.join(dir, 'results', 'nested');
  assert.equal(await outputPathFor(input, 'udnie', { outDir: other }), path.join(other, 'photo.udnie.JPG'));

  // many existing files: every answer is free, and they increase
  const inputB = path.join(dir, 'b.png');
  const seen = new Set<string>();
  for (let i = 0; i < 25; i++) {
    const p = await outputPathFor(inputB, 'wave');
    assert.ok(!fs.existsSync(p), `${p} must not exist`);
    assert.ok(!seen.has(p));
    seen.add(p);
    fs.writeFileSync(p, String(i));
  }
  assert.ok(seen.has(path.join(dir, 'b.wave-25.png')));
  assert.equal(fs.readFileSync(input, 'utf8'), 'original');
});

test('writeFileAtomic writes all bytes, refuses to overwrite, overwrites only when asked', async () => {
  const dir = tempDir('fst-atomic-');
  const target = path.join(dir, 'out.bin');
  const bytes = crypto.randomBytes(100_000);
  await writeFileAtomic(target, bytes);
  assert.deepEqual(fs.readFileSync(target), bytes);
  assert.deepEqual(tmpFiles(dir), []);

  await rejectsWith(
    writeFileAtomic(target, Buffer.from('new')),
    'output-exists',
    /out\.bin already exists; not overwriting it/,
  );
  assert.deepEqual(fs.readFileSync(target), bytes, 'existing file untouched');

  await writeFileAtomic(target, Buffer.from('new'), { overwrite: true });
  assert.equal(fs.readFileSync(target, 'utf8'), 'new');
  assert.deepEqual(fs.readdirSync(dir), ['out.bin'], 'nothing else left in the folder');

  // createDir makes missing folders; without it the missing folder is named
  const deep = path.join(dir, 'a', 'b', 'c.bin');
  await rejectsWith(writeFileAtomic(deep, bytes), 'not-found', /the folder .*a[/\\]b does not exist/);
  await writeFileAtomic(deep, bytes, { createDir: true });
  assert.deepEqual(fs.readFileSync(deep), bytes);
});

test('two writers racing for one new name: exactly one wins, nothing is clobbered', async () => {
  const dir = tempDir('fst-race-');
  const target = path.join(dir, 'race.txt');
  const results = await Promise.allSettled(
    ['first', 'second', 'third'].map((s) => writeFileAtomic(target, Buffer.from(s))),
  );
  const won = results.filter((r) => r.status === 'fulfilled');
  assert.equal(won.length, 1, 'one writer wins');
  for (const r of results) {
    if (r.status === 'rejected') assert.equal((r.reason as StyleTransferError).code, 'output-exists');
  }
  assert.ok(['first', 'second', 'third'].includes(fs.readFileSync(target, 'utf8')));
  assert.deepEqual(fs.readdirSync(dir), ['race.txt']);
});

test('failed writes leave no temp file and say why (path under a file, folder in the way)', async () => {
  const dir = tempDir('fst-fail-');
  const file = path.join(dir, 'plain.txt');
  fs.writeFileSync(file, 'keep me');
  const before = sha(file);
  // Tests run as root, where chmod 0o555 does not stop writes; these paths fail for anyone.
  await rejectsWith(
    writeFileAtomic(path.join(file, 'out.png'), Buffer.from('x')),
    'io',
    /plain\.txt is a file, not a folder/,
  );
  await rejectsWith(
    writeFileAtomic(path.join(file, 'sub', 'out.png'), Buffer.from('x'), { createDir: true }),
    'io',
    /is a file, not a folder|cannot create/,
  );
  fs.mkdirSync(path.join(dir, 'folder.png'));
  await rejectsWith(
    writeFileAtomic(path.join(dir, 'folder.png'), Buffer.from('x')),
    'output-exists',
    /folder\.png already exists/,
  );
  await rejectsWith(
    writeFileAtomic(path.join(dir, 'folder.png'), Buffer.from('x'), { overwrite: true }),
    'io',
    /folder\.png: it is a folder/,
  );
  await rejectsWith(
    writeFileAtomic(path.join(dir, `${'n'.repeat(300)}.png`), Buffer.from('x')),
    'io',
    /file name is too long/,
  );
  assert.deepEqual(fs.readdirSync(dir).sort(), ['folder.png', 'plain.txt']);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'folder.png')), []);
  assert.equal(sha(file), before);
});

test('file-system error codes become precise messages', () => {
  const err = (code: string) => Object.assign(new Error(`${code}: something`), { code });
  const t = '/data/out/photo.udnie.png';
  const cases: Array<[string, ErrorCode, RegExp]> = [
    ['ENOSPC', 'io', /cannot write \/data\/out\/photo\.udnie\.png: the disk is full/],
    ['EROFS', 'io', /\/data\/out is on a read-only file system/],
    ['EACCES', 'io', /permission denied in \/data\/out/],
    ['EPERM', 'io', /permission denied/],
    ['EDQUOT', 'io', /quota/],
    ['EEXIST', 'output-exists', /already exists/],
    ['ENOENT', 'not-found', /the folder \/data\/out does not exist/],
    ['EIO', 'io', /input\/output error/],
    ['EWEIRD', 'io', /cannot write .*EWEIRD: something/],
  ];
  for (const [code, expected, pattern] of cases) {
    const e = fileSystemError(err(code), t, 'write');
    assert.equal(e.code, expected, code);
    assert.match(e.message, pattern, code);
    assert.match(e.detail ?? '', new RegExp(code), `${code}: original message kept as detail`);
  }
});

test('writeImageFile infers the format from the extension; bad names and failed encodes write nothing', async () => {
  const dir = tempDir('fst-img-');
  for (const ext of ['png', 'jpg', 'webp', 'avif', 'tif', 'gif']) {
    const target = path.join(dir, `small.${ext}`);
    await writeImageFile(target, small);
    const img = await readImage(target);
    assert.equal(img.format, formatFromExtension(target));
    assert.deepEqual([img.width, img.height], [4, 3]);
  }
  await rejectsWith(
    writeImageFile(path.join(dir, 'small.bmp'), small),
    'bad-input',
    /cannot tell the image format from the name small\.bmp/,
  );
  // explicit format wins over the extension
  await writeImageFile(path.join(dir, 'data.bin'), small, { format: 'png' });
  assert.equal((await readImage(path.join(dir, 'data.bin'))).format, 'png');
  const tall = { width: 1, height: 20_000, rgb: new Float32Array(60_000) };
  await rejectsWith(writeImageFile(path.join(dir, 'tall.webp'), tall), 'image-too-large', /WebP cannot store/);
  assert.ok(!fs.existsSync(path.join(dir, 'tall.webp')));
  assert.deepEqual(tmpFiles(dir), []);
});

test('writeStylizedImage writes beside the input under fresh names; the original stays byte-identical', async () => {
  const dir = tempDir('fst-stylized-');
  const input = path.join(dir, 'holiday.png');
  fs.writeFileSync(input, await encodeImage(small, 'png'));
  const before = sha(input);
  const stylized = { ...small, rgb: small.rgb.map((v) => 255 - v) };
  const a = await writeStylizedImage(input, 'udnie', stylized);
  const b = await writeStylizedImage(input, 'udnie', stylized);
  const c = await writeStylizedImage(input, 'udnie', stylized, { format: 'jpeg' });
  const d = await writeStylizedImage(input, 'udnie', stylized, { outDir: path.join(dir, 'out'), createDir: true });
  assert.deepEqual(
    [a, b, c, d],
    [
      path.join(dir, 'holiday.udnie.png'),
      path.join(dir, 'holiday.udnie-2.png'),
      path.join(dir, 'holiday.udnie.jpg'),
      path.join(dir, 'out', 'holiday.udnie.png'),
    ],
  );
  const back = await decodeImage(fs.readFileSync(a));
  assert.deepEqual([...back.rgb.data], [...stylized.rgb]);
  assert.equal(sha(input), before);
  assert.deepEqual(tmpFiles(dir), []);
});

test('writeDirAtomic: all files appear at once; failures and existing folders leave everything as it was', async () => {
  const root = tempDir('fst-dir-');
  const target = path.join(root, 'checkpoint');
  await writeDirAtomic(target, async (tmp) => {
    assert.ok(!fs.existsSync(target), 'target appears only after fill');
    assert.equal(path.dirname(tmp), root, 'temp folder beside the target (same file system)');
    fs.writeFileSync(path.join(tmp, 'model.json'), '{"v":1}');
    fs.mkdirSync(path.join(tmp, 'sub'));
    fs.writeFileSync(path.join(tmp, 'sub', 'weights.bin'), Buffer.alloc(1000, 1));
  });
  assert.deepEqual(fs.readdirSync(target).sort(), ['model.json', 'sub']);
  assert.equal(fs.readFileSync(path.join(target, 'model.json'), 'utf8'), '{"v":1}');

  // existing → refused, untouched
  await rejectsWith(
    writeDirAtomic(target, async () => undefined),
    'output-exists',
    /checkpoint already exists/,
  );
  // fill fails → its error, temp folder gone, target untouched
  await assert.rejects(
    writeDirAtomic(path.join(root, 'other'), async (tmp) => {
      fs.writeFileSync(path.join(tmp, 'half.bin'), 'x');
      throw new StyleTransferError('cancelled', 'training cancelled');
    }),
    /training cancelled/,
  );
  assert.ok(!fs.existsSync(path.join(root, 'other')));
  // a non-empty folder created while filling is not replaced
  await rejectsWith(
    writeDirAtomic(path.join(root, 'late'), async (tmp) => {
      fs.writeFileSync(path.join(tmp, 'mine'), 'mine');
      fs.mkdirSync(path.join(root, 'late'));
      fs.writeFileSync(path.join(root, 'late', 'theirs'), 'theirs');
    }),
    'output-exists',
    /late already exists/,
  );
  assert.deepEqual(fs.readdirSync(path.join(root, 'late')), ['theirs']);

  // overwrite replaces the folder as a whole; the old one is gone
  await writeDirAtomic(
    target,
    async (tmp) => {
      fs.writeFileSync(path.join(tmp, 'model.json'), '{"v":2}');
    },
    { overwrite: true },
  );
  assert.deepEqual(fs.readdirSync(target), ['model.json']);
  assert.equal(fs.readFileSync(path.join(target, 'model.json'), 'utf8'), '{"v":2}');
  assert.deepEqual(tmpFiles(root), []);
  assert.deepEqual(fs.readdirSync(root).sort(), ['checkpoint', 'late']);

  // under a file → io, nothing left
  const file = path.join(root, 'file');
  fs.writeFileSync(file, 'x');
  await rejectsWith(
    writeDirAtomic(path.join(file, 'ckpt'), async () => undefined),
    'io',
    /is a file, not a folder/,
  );
  assert.deepEqual(tmpFiles(root), []);
});

test('without hard links (FAT, some network shares) the no-clobber write still works and still refuses', async () => {
  const dir = tempDir('fst-nolink-');
  const target = path.join(dir, 'out.txt');
  const realLink = fsp.link;
  let calls = 0;
  // what vfat answers to link(2)
  fsp.link = async () => {
    calls++;
    throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
  };
  try {
    await writeFileAtomic(target, Buffer.from('one'));
    assert.equal(fs.readFileSync(target, 'utf8'), 'one');
    await rejectsWith(writeFileAtomic(target, Buffer.from('two')), 'output-exists', /already exists/);
    const results = await Promise.allSettled(
      ['a', 'b'].map((s) => writeFileAtomic(path.join(dir, 'race.txt'), Buffer.from(s))),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.ok(calls >= 3, 'the fallback path was taken');
  } finally {
    fsp.link = realLink;
  }
  assert.equal(fs.readFileSync(target, 'utf8'), 'one');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['out.txt', 'race.txt']);
});
