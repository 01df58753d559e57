// Issue 15.5: `fst` refuses malformed command lines up front with one line (exit 2), before any
// style, VGG or image is read; messages escape control characters of file names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { parseCommandArgs, parseDecimal, printable } from '../../src/cli/args';
import { runFst } from '../helpers/cli';
import { REPO_ROOT, tempDir } from '../helpers/paths';

const root = tempDir('fst-args-');
// Paths that do not exist: an option error must come before anything is opened.
const missing = path.join(root, 'no-such-style');
const photo = path.join(root, 'no-such-photo.png');

async function refused(args: string[], message: RegExp): Promise<void> {
  const r = await runFst(args);
  assert.equal(r.code, 2, `${JSON.stringify(args)}: exit code (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '', JSON.stringify(args));
  assert.equal(r.stderr.split('\n').length, 1, `${JSON.stringify(args)}: one line: ${r.stderr}`);
  assert.match(r.stderr, message, JSON.stringify(args));
}

test('stylize: empty, repeated, malformed and out-of-range values are refused before the style is opened', async () => {
  const s = ['stylize', '-m', missing, photo];
  await refused([...s, '--strength', ''], /^fst stylize: --strength needs a value, got an empty one/);
  await refused([...s, '--strength', '  '], /--strength needs a value, got an empty one/);
  await refused(['stylize', '-m', '', photo], /--model needs a value, got an empty one/);
  await refused(['stylize', '--model=', photo], /--model needs a value, got an empty one/);
  await refused([...s, '-m', path.join(root, 'other')], /^fst stylize: --model is given more than once; give it once/);
  await refused([...s, '-q', '--quiet'], /--quiet is given more than once/);
  await refused(
    [...s, '--quality', '50.5', '-f', 'jpeg'],
    /^fst stylize: --quality must be a whole number, got "50\.5"$/,
  );
  // Negative numbers are values (checked against the range), not "ambiguous" options.
  await refused([...s, '--strength', '-1'], /^fst stylize: --strength must be a number between 0 and 1, got "-1"$/);
  await refused([...s, '--scale', '-.5'], /--scale must be a number between 0\.01 and 4, got "-\.5"/);
  await refused([...s, '--scale', '0x1'], /--scale must be a number between 0\.01 and 4, got "0x1"/);
  await refused([...s, '--strength', 'Infinity'], /--strength must be a number/);
  await refused([...s, '--max-pixels', '1e5.5'], /--max-pixels must be a number/);
  await refused(['stylize', photo, '-m'], /^fst stylize: --model needs a value \(try fst stylize --help\)$/);
  await refused(
    ['stylize', '-m', '-weird', photo],
    /--model needs a value; to give one that starts with "-", write --model=<value>/,
  );
  await refused([...s, '--bogus'], /^fst stylize: Unknown option '--bogus' \(try fst stylize --help\)$/);
  await refused([...s, '--blend', ''], /--blend needs a value/);
});

test('train and optimize: empty layers, repeats and negative numbers are refused before VGG or images are read', async () => {
  const train = ['train', '--style', photo, '--data', root, '-o', path.join(root, 'ck'), '--vgg', missing];
  await refused([...train, '--content-layer', ''], /^fst train: --content-layer needs a value, got an empty one/);
  await refused([...train, '--style-layers', ' , '], /^fst train: --style-layers names no layer, got " , "$/);
  await refused([...train, '--iterations', '5', '-n', '6'], /--iterations is given more than once/);
  await refused([...train, '--filters', '16,,64'], /--filters must be whole numbers separated by commas/);
  await refused(
    [...train, '--residual-blocks', '-2'],
    /--residual-blocks must be a number between 0 and 1000, got "-2"/,
  );
  // --resume continues with the saved settings: options it would ignore are refused, not dropped.
  const resume = ['train', '--resume', '-o', path.join(root, 'ck'), '--vgg', missing];
  await refused(
    [...resume, '--style', photo, '--learning-rate', '0.01'],
    /^fst train: --resume continues with the checkpoint's saved settings: --style, --learning-rate cannot change \(only --iterations can\)$/,
  );
  await refused([...resume, '--preset', 'paper'], /--preset cannot change/);
  const noCheckpoint = await runFst([...resume, '--iterations', '5']);
  assert.equal(noCheckpoint.code, 1, noCheckpoint.stderr);
  assert.match(noCheckpoint.stderr, /no-such-style|ck/, 'a resume of nothing fails on the checkpoint or the weights');
  const optimize = ['optimize', '--style', photo, '--vgg', missing, photo];
  await refused([...optimize, '--content-layer', ''], /^fst optimize: --content-layer needs a value, got an empty one/);
  await refused([...optimize, '--style-layers', ','], /--style-layers names no layer/);
  await refused(
    [...optimize, '--seed', '-1'],
    /^fst optimize: --seed must be a number between 0 and 4294967295, got "-1"$/,
  );
  await refused([...optimize, '--quality', '50.5'], /--quality must be a whole number/);
  assert.deepEqual(fs.readdirSync(root), [], 'nothing written');
});

test('parseCommandArgs, parseDecimal and printable', () => {
  const opts = {
    n: { type: 'string' as const, short: 'n' },
    tag: { type: 'string' as const, multiple: true },
    q: { type: 'boolean' as const },
  };
  const p = parseCommandArgs(['-n', '-3', '--tag', 'a', '--tag', 'b', 'x'], opts);
  assert.deepEqual({ ...p.values }, { n: '-3', tag: ['a', 'b'] });
  assert.deepEqual(p.positionals, ['x']);
  // After "--" everything is positional, numbers included.
  assert.deepEqual(parseCommandArgs(['--', '-n', '-3'], opts).positionals, ['-n', '-3']);
  assert.deepEqual(['1', '-2.5', '.5', '1e3', ' 7 ', '+4'].map(parseDecimal), [1, -2.5, 0.5, 1000, 7, 4]);
  assert.deepEqual(['', '0x10', 'Infinity', 'NaN', '1,5', '5e', '--1'].map(parseDecimal), Array(7).fill(undefined));
  assert.equal(
    printable('a\u0000b\u001b[31mc\nd\te\u007f\u009b\u202eevil'),
    'a\\x00b\\x1b[31mc\\nd\\te\\x7f\\x9b\\u202eevil',
  );
  assert.equal(printable('photo – café ✓.png'), 'photo – café ✓.png');
});

test('a truncated JPEG is one line; a file name with control characters is printed escaped', async () => {
  const dir = path.join(tempDir('fst-args-io-'), 'in');
  fs.mkdirSync(dir);
  const style = path.join(dir, '..', 'style');
  fs.cpSync(path.join(REPO_ROOT, 'styles', 'starry-night'), style, {
    recursive: true,
    filter: (src) => !/\.onnx/.test(src),
  });
  const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#336699' } })
    .jpeg()
    .toBuffer();
  // Cut inside the header: libvips then reports five lines.
  fs.writeFileSync(path.join(dir, 'cut.jpg'), jpeg.subarray(0, 100));
  let r = await runFst(['stylize', '-q', '-m', style, path.join(dir, 'cut.jpg')]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `fst stylize: ${path.join(dir, 'cut.jpg')} is damaged or truncated and cannot be decoded (Input buffer has corrupt header: VipsJpeg: premature end of JPEG image)`,
  );

  const evil = path.join(dir, 'a\u0001b\u001b[2Jc\nd.png');
  fs.writeFileSync(evil, jpeg.subarray(0, 100));
  for (const [file, shown] of [
    [evil, 'a\\x01b\\x1b[2Jc\\nd.png is damaged or truncated'],
    [path.join(dir, 'gone\u0007.png'), 'gone\\x07.png does not exist'],
  ]) {
    r = await runFst(['stylize', '-q', '-m', style, file]);
    assert.equal(r.code, 1);
    assert.ok(
      !/[\u0000-\u001f\u007f]/.test(r.stderr),
      `one line, no raw control characters: ${JSON.stringify(r.stderr)}`,
    );
    assert.ok(r.stderr.includes(shown), r.stderr);
  }
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a\u0001b\u001b[2Jc\nd.png', 'cut.jpg'], 'nothing written');
});
