// The validation toolkit (src/protocol/validate.ts): each rule accepts good values and refuses
// bad ones with one line naming the field and what was expected; and the job requests built on
// it (the resume request, typed training overrides, stylize ranges) refuse what the engine
// would otherwise meet deep inside a job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Invalid,
  absolutePath,
  arrayOf,
  boolean,
  bytes,
  fileName,
  matching,
  number,
  object,
  oneOf,
  orDefault,
  problemOf,
  string,
  type Rule,
} from '../../src/protocol/validate';
import { DEFAULT_MAX_INPUT_PIXELS, type EngineSettings } from '../../src/protocol/jobs';
import { TRAINING_OVERRIDES, jobRequestProblem } from '../../src/protocol/jobChecks';

/** `rule` returns `v` (or `expected`) for each good value. */
function accepts<T>(rule: Rule<T>, values: readonly unknown[], expected?: (v: unknown) => unknown): void {
  for (const v of values) assert.deepEqual(rule(v, 'f'), expected ? expected(v) : v, `accepts ${String(v)}`);
}

/** `rule` throws Invalid with exactly `message` for `v` at field "f". */
function refuses(rule: Rule<unknown>, v: unknown, message: string): void {
  assert.throws(
    () => rule(v, 'f'),
    (e: unknown) => {
      assert.ok(e instanceof Invalid, `an Invalid, not ${String(e)}`);
      assert.equal(e.message, message);
      return true;
    },
    `refuses ${Array.isArray(v) ? `an array of ${v.length}` : String(v)}`,
  );
}

test('string: a NUL-free string, non-empty unless allowed, capped when asked', () => {
  accepts(string(), ['a', ' x ', 'ü'.repeat(50)]);
  accepts(string({ allowEmpty: true }), ['']);
  refuses(string(), '', '"f" is empty');
  refuses(string(), 5, '"f" must be a string');
  refuses(string(), { toString: () => 'x' }, '"f" must be a string');
  refuses(string(), 'a\u0000b', '"f" contains a NUL character');
  refuses(string({ max: 3 }), 'abcd', '"f" is too long (4 characters, at most 3)');
});

test('absolutePath: POSIX, Windows drive and UNC paths; relative, drive-relative and root-relative ones refused', () => {
  accepts(absolutePath(), ['/a/b', 'C:\\x\\y.png', 'c:/x', '\\\\server\\share\\x', '\\\\?\\C:\\x']);
  for (const p of ['a/b', './a', '../etc/passwd', 'C:x', '\\x', '~/.ssh'])
    refuses(absolutePath(), p, '"f" must be an absolute path');
  refuses(absolutePath(), '', '"f" is empty');
  refuses(absolutePath(), '/a\u0000/b', '"f" contains a NUL character');
  refuses(absolutePath({ max: 4 }), '/abcd', '"f" is too long (5 characters, at most 4)');
  refuses(absolutePath(), ['/a'], '"f" must be a string');
});

test('fileName and matching: one name, a given form', () => {
  accepts(fileName(), ['a.png', '.hidden', 'a b.jpg']);
  for (const n of ['a/b', 'a\\b', '.', '..', 'a\nb', 'a\u007fb'])
    refuses(fileName(), n, '"f" must be a plain file name');
  const token = matching(/^img-[1-9][0-9]*$/, 'an image token (img-<n>)', { max: 8 });
  accepts(token, ['img-1', 'img-123']);
  refuses(token, 'img-0', '"f" must be an image token (img-<n>)');
  refuses(token, 'img-123456', '"f" is too long (10 characters, at most 8)');
});

test('number: finite, in range (closed, open at the bottom, one-sided), integer when asked', () => {
  accepts(number(), [0, -1.5, 1e300]);
  accepts(number({ min: 0, max: 1 }), [0, 0.5, 1]);
  for (const v of [NaN, Infinity, -Infinity, '1', null, true, [1], { valueOf: () => 1 }])
    refuses(number({ min: 0, max: 1 }), v, '"f" must be a finite number between 0 and 1');
  refuses(number(), NaN, '"f" must be a finite number');
  refuses(number({ min: 0, max: 1 }), 1.0001, '"f" must be between 0 and 1, got 1.0001');
  refuses(number({ min: 0, max: 1 }), -0.1, '"f" must be between 0 and 1, got -0.1');
  accepts(number({ above: 0, max: 4 }), [1e-9, 4]);
  refuses(number({ above: 0, max: 4 }), 0, '"f" must be above 0 and at most 4, got 0');
  refuses(number({ min: 1 }), 0, '"f" must be at least 1, got 0');
  refuses(number({ max: 1 }), 2, '"f" must be at most 1, got 2');
  accepts(number({ min: 0, integer: true }), [0, 7]);
  refuses(number({ min: 0, integer: true }), 1.5, '"f" must be an integer, got 1.5');
});

test('boolean, oneOf and bytes', () => {
  accepts(boolean, [true, false]);
  for (const v of ['true', 0, null]) refuses(boolean, v, '"f" must be true or false');
  const mode = oneOf(['none', 'luminance']);
  accepts(mode, ['none', 'luminance']);
  for (const v of ['None', '', 'constructor', 1, ['none']]) refuses(mode, v, '"f" must be one of none, luminance');
  const b = new Uint8Array([1, 2, 3]);
  assert.equal(bytes()(b, 'f'), b, 'the same bytes, not a copy');
  accepts(bytes({ allowEmpty: true }), [new Uint8Array(0)]);
  refuses(bytes(), new Uint8Array(0), '"f" is empty');
  refuses(bytes(), [1, 2], '"f" must be a Uint8Array');
  refuses(bytes(), new Uint16Array(2), '"f" must be a Uint8Array');
  refuses(bytes({ max: 2 }), b, '"f" is too large (3 bytes, at most 2)');
});

test('arrayOf: plain arrays only, item paths in messages, limits read from the length first', () => {
  const paths = arrayOf(absolutePath(), { min: 1, max: 3, items: 'styles' });
  assert.deepEqual(paths(['/a', '/b'], 'f'), ['/a', '/b']);
  refuses(paths, [], '"f" is empty');
  refuses(paths, ['/a', 'b'], '"f[1]" must be an absolute path');
  refuses(paths, ['/a', '/b', '/c', '/d'], '"f" has too many styles (4, at most 3)');
  refuses(paths, new Array(1e9), '"f" has too many styles (1000000000, at most 3)');
  refuses(arrayOf(number(), { min: 2 }), [1], '"f" has too few items (1, at least 2)');
  refuses(paths, [, '/a'], '"f" must be a plain array');
  refuses(paths, Object.assign(['/a'], { extra: 1 }), '"f" must be a plain array');
  refuses(paths, { 0: '/a', length: 1 }, '"f" must be an array');
  refuses(paths, Object.setPrototypeOf(['/a'], Object.create(Array.prototype)), '"f" must be an array');
  accepts(arrayOf(number()), [[]]);
});

test('object: required and optional fields, unknown ones ignored or refused, a fresh copy', () => {
  const rule = object({ a: number() }, { b: string() });
  const input = { a: 1, b: 'x', c: 'ignored' };
  const out = rule(input, 'f');
  assert.deepEqual(out, { a: 1, b: 'x' });
  assert.notEqual(out, input);
  assert.deepEqual(rule({ a: 1, b: undefined }, 'f'), { a: 1 }, 'an undefined optional field is absent');
  refuses(rule, { b: 'x' }, '"f.a" is missing');
  refuses(rule, { a: undefined }, '"f.a" is missing');
  refuses(rule, { a: 1, b: 2 }, '"f.b" must be a string');
  const exact = object({ a: number() }, {}, { exact: true });
  refuses(exact, { a: 1, c: 2 }, '"f" has an unexpected field "c"');
  assert.equal(problemOf(exact, { a: 1, c: 2 }), 'unexpected field "c"', 'at the top level no field path');
  for (const v of [null, [], new Date(), new Map(), Object.create({ a: 1 }), 'a'])
    refuses(rule, v, '"f" must be a plain object');
  assert.deepEqual(
    rule(Object.assign(Object.create(null), { a: 2 }), 'f'),
    { a: 2 },
    'a null-prototype object is plain',
  );
  // Nested paths: fields, then items.
  refuses(
    object({ list: arrayOf(object({ w: number({ min: 0, max: 1 }) })) }),
    { list: [{ w: 0.5 }, { w: 2 }] },
    '"f.list[1].w" must be between 0 and 1, got 2',
  );
});

test('problemOf and orDefault: one line or undefined; a fallback for hand-edited settings', () => {
  const rule = object({ a: number() });
  assert.equal(problemOf(rule, { a: 1 }), undefined);
  assert.equal(problemOf(rule, { a: 'x' }), '"a" must be a finite number');
  assert.equal(problemOf(rule, { a: 'x' }, 'settings'), '"settings.a" must be a finite number');
  // A hostile getter is a problem, not a crash.
  assert.equal(
    problemOf(rule, {
      get a(): number {
        throw new Error('getter');
      },
    }),
    'getter',
  );
  assert.equal(orDefault(oneOf(['auto', 'onnx']), 'onnx', 'auto'), 'onnx');
  assert.equal(orDefault(oneOf(['auto', 'onnx']), 'gpu', 'auto'), 'auto');
  assert.equal(orDefault(number(), NaN, 3), 3);
  assert.equal(orDefault(boolean, 'yes', true), true);
});

/** A complete train request's options (absolute paths, no overrides). */
const train = {
  styleImage: '/s.jpg',
  dataDir: '/photos',
  output: '/styles/new',
  name: 'New',
  preset: 'quick',
  vggPath: '/vgg',
};
const settings: EngineSettings = {
  trainingBackend: 'cpu',
  stylizeRuntime: 'onnx',
  threads: 0,
  cacheDir: '/c',
  extraModuleRoots: [],
  maxInputPixels: DEFAULT_MAX_INPUT_PIXELS,
};

test('resume is its own request: a checkpoint, VGG weights and an optional length; a train request has no placeholders', () => {
  assert.equal(
    jobRequestProblem({ type: 'resume', options: { checkpoint: '/styles/a', vggPath: '/vgg' } }, settings),
    undefined,
  );
  assert.equal(
    jobRequestProblem(
      { type: 'resume', options: { checkpoint: '/styles/a', vggPath: '/vgg', iterations: 2000 } },
      settings,
    ),
    undefined,
  );
  assert.equal(
    jobRequestProblem({ type: 'resume', options: { checkpoint: 'styles/a', vggPath: '/vgg' } }, settings),
    '"options.checkpoint" must be an absolute path',
  );
  assert.equal(
    jobRequestProblem({ type: 'resume', options: { vggPath: '/vgg' } }, settings),
    '"options.checkpoint" is missing',
  );
  assert.equal(
    jobRequestProblem({ type: 'resume', options: { checkpoint: '/a', vggPath: '/vgg', iterations: -1 } }, settings),
    '"options.iterations" must be between 0 and 10000000, got -1',
  );
  assert.equal(
    jobRequestProblem({ type: 'resume', options: { checkpoint: '/a', vggPath: '/vgg', iterations: 2.5 } }, settings),
    '"options.iterations" must be an integer, got 2.5',
  );
  assert.equal(jobRequestProblem({ type: 'train', options: train }, settings), undefined);
  assert.equal(
    jobRequestProblem({ type: 'train', options: { ...train, styleImage: '' } }, settings),
    '"options.styleImage" is empty',
  );
  assert.equal(
    jobRequestProblem({ type: 'train', options: { ...train, dataDir: '' } }, settings),
    '"options.dataDir" is empty',
  );
});

test('training overrides: known hyperparameters only, each of its type and in its range', () => {
  const arch = { type: 'johnson2016', filters: [8, 16, 16], residualBlocks: 1, upsample: 'nearest' };
  const good = {
    iterations: 10,
    imageSize: 32,
    learningRate: 2e-3,
    architecture: arch,
    styleLayers: ['relu1_1', 'relu2_1'],
    contentLayers: [],
    augment: false,
  };
  assert.deepEqual(TRAINING_OVERRIDES(good, 'overrides'), good);
  const bad: [unknown, string][] = [
    [{ iterationz: 10 }, '"overrides" has an unexpected field "iterationz"'],
    [{ imageSize: 8 }, '"overrides.imageSize" must be between 16 and 2048, got 8'],
    [{ batchSize: 1.5 }, '"overrides.batchSize" must be an integer, got 1.5'],
    [{ learningRate: NaN }, '"overrides.learningRate" must be a finite number between 1e-7 and 1'],
    [{ seed: '1' }, '"overrides.seed" must be a finite number between 0 and 2147483648'],
    [{ augment: 1 }, '"overrides.augment" must be true or false'],
    [{ styleLayers: ['relu1_1', 'pool1'] }, '"overrides.styleLayers[1]" must be a VGG layer name like relu2_2'],
    [{ contentLayers: 'relu2_2' }, '"overrides.contentLayers" must be an array'],
    [
      { architecture: { ...arch, filters: [8, 16] } },
      '"overrides.architecture.filters" must hold 3 channel counts, got 2',
    ],
    [
      { architecture: { ...arch, filters: [8, 16, 0] } },
      '"overrides.architecture.filters[2]" must be between 1 and 1024, got 0',
    ],
    [
      { architecture: { ...arch, residualBlocks: 33 } },
      '"overrides.architecture.residualBlocks" must be between 0 and 32, got 33',
    ],
    [{ architecture: { ...arch, type: 'resnet' } }, '"overrides.architecture.type" must be one of johnson2016'],
    [
      { architecture: { ...arch, upsample: 'bilinear' } },
      '"overrides.architecture.upsample" must be one of transpose, nearest',
    ],
    [{ architecture: { ...arch, depth: 3 } }, '"overrides.architecture" has an unexpected field "depth"'],
  ];
  for (const [v, message] of bad) assert.equal(problemOf(TRAINING_OVERRIDES, v, 'overrides'), message);
  assert.equal(
    jobRequestProblem({ type: 'train', options: { ...train, overrides: { batchSize: 0 } } }, settings),
    '"options.overrides.batchSize" must be between 1 and 64, got 0',
  );
});

test('stylize options: strength, scale, quality and tile size are checked where the request arrives', () => {
  const job = (options: Record<string, unknown>) =>
    jobRequestProblem({ type: 'stylize', inputs: ['/a.png'], style: '/s', options }, settings);
  assert.equal(job({ strength: 0, scale: 0.01, quality: 100, tileSize: 0 }), undefined);
  assert.equal(job({ strength: 1.5 }), '"options.strength" must be between 0 and 1, got 1.5');
  assert.equal(job({ strength: NaN }), '"options.strength" must be a finite number between 0 and 1');
  assert.equal(job({ scale: 0 }), '"options.scale" must be between 0.01 and 4, got 0');
  assert.equal(job({ scale: 5 }), '"options.scale" must be between 0.01 and 4, got 5');
  assert.equal(job({ quality: 0 }), '"options.quality" must be between 1 and 100, got 0');
  assert.equal(job({ tileSize: 64.5 }), '"options.tileSize" must be an integer, got 64.5');
  assert.equal(
    job({ blend: [{ style: '/b', weight: 2 }] }),
    '"options.blend[0].weight" must be between 0 and 1, got 2',
  );
  const preview = (p: Record<string, unknown>) =>
    jobRequestProblem(
      { type: 'preview', image: { path: '/a.png' }, style: '/s', maxSide: 512, options: {}, ...p },
      settings,
    );
  assert.equal(preview({}), undefined);
  assert.equal(preview({ options: { scale: -1 } }), '"options.scale" must be between 0.01 and 4, got -1');
  assert.equal(preview({ maxSide: -1 }), '"maxSide" must be at least 0, got -1');
});
