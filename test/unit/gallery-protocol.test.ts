// Messages from the gallery webview are untrusted: the shape validator (src/protocol/gallery.ts)
// and the path guard (src/views/gallery/pathGuard.ts) must refuse anything malformed, any
// path outside the allowed folders (also through "..", symbolic links and relative paths),
// oversized payloads and files that are not images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GALLERY_LIMITS, parseWebviewMessage, type WebviewToHost } from '../../src/protocol/gallery';
import { PathGuard, sniffImageType, sniffVideoType } from '../../src/views/gallery/pathGuard';
import { contentSecurityPolicy, makeNonce } from '../../src/views/gallery/html';

const ok = (raw: unknown): WebviewToHost => {
  const m = parseWebviewMessage(raw);
  if (m instanceof Error) assert.fail(`expected ${JSON.stringify(raw)?.slice(0, 120)} to be accepted: ${m.message}`);
  return m;
};
/** `m` is accepted and comes back field by field (compared with a copy taken before parsing). */
const accepted = (m: object): void => {
  const copy = structuredClone(m);
  assert.deepEqual(ok(m), copy);
};
const rejected = (raw: unknown, reason: RegExp): void => {
  const m = parseWebviewMessage(raw);
  assert.ok(
    m instanceof Error,
    `expected ${JSON.stringify(raw, (_k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v))?.slice(0, 120)} to be rejected`,
  );
  assert.match(m.message, /^rejected message from the gallery webview: /);
  assert.match(m.message, reason);
};

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

test('well-formed messages of every type are accepted and returned field by field', () => {
  for (const type of [
    'ready',
    'pickImage',
    'pickWorkspaceImage',
    'useActiveEditorImage',
    'useSampleImage',
    'cancelTraining',
    'pauseTraining',
  ] as const) {
    accepted({ type });
  }
  for (const m of [
    { type: 'openImagePath', path: '/ws/photos/a.png' },
    { type: 'openImagePath', path: 'C:\\ws\\a.png' },
    { type: 'preview', requestId: 7, imageToken: 'img-12', styleId: '/s/udnie', size: 'full', scale: 0.5 },
    {
      type: 'save',
      mode: 'saveAs',
      imageToken: 'img-1',
      styleId: '/s/udnie',
      strength: 0.35,
      colorMode: 'luminance',
      format: 'webp',
      scale: 1,
    },
    { type: 'runCommand', command: 'train' },
    { type: 'resumeTraining', styleId: '/s/x' },
    { type: 'evaluateStyle', styleId: '/s/x' },
    { type: 'log', level: 'warn', message: '' },
    { type: 'copyPath', path: '/ws/a.udnie.png' },
  ])
    accepted(m);
  const drop = ok({ type: 'dropImage', name: 'photo.png', bytes: PNG });
  assert.equal(drop.type === 'dropImage' && drop.bytes, PNG);
});

test('non-objects, unknown types and unexpected fields are rejected', () => {
  for (const raw of [
    null,
    undefined,
    42,
    'ready',
    [],
    [{ type: 'ready' }],
    new Date(),
    Object.create({ type: 'ready' }),
  ])
    rejected(raw, /plain object/);
  rejected({}, /no string "type"/);
  rejected({ type: 7 }, /no string "type"/);
  rejected({ type: 'deleteEverything' }, /unknown message type "deleteEverything"/);
  rejected({ type: '__proto__' }, /unknown message type/);
  rejected({ type: 'x'.repeat(10_000) }, /unknown message type "x{40}"$/);
  rejected({ type: 'ready', extra: 1 }, /unexpected field "extra"/);
  rejected({ type: 'runCommand', command: 'workbench.action.terminal.new' }, /"command" must be one of/);
  rejected({ type: 'runCommand', command: 'fastStyleTransfer.train' }, /"command" must be one of/);
  rejected({ type: 'log', level: 'debug', message: 'x' }, /"level" must be one of/);
});

test('paths must be absolute, short and free of NUL: relative traversal never reaches the host', () => {
  rejected({ type: 'openImagePath', path: '../../etc/passwd' }, /must be an absolute path/);
  rejected({ type: 'openImagePath', path: 'photos/a.png' }, /must be an absolute path/);
  rejected({ type: 'openImagePath', path: '' }, /is empty/);
  rejected({ type: 'openImagePath', path: '/ws/a.png\u0000.txt' }, /NUL/);
  rejected({ type: 'openImagePath', path: `/${'a'.repeat(GALLERY_LIMITS.maxPathLength)}` }, /too long/);
  rejected({ type: 'openImagePath', path: { toString: () => '/etc/passwd' } }, /must be a string/);
  rejected({ type: 'copyPath', path: '~/.ssh/id_rsa' }, /absolute path/);
  rejected(
    { type: 'preview', requestId: 1, imageToken: 'img-1', styleId: '../styles/x', size: 'preview', scale: 1 },
    /"styleId" must be an absolute path/,
  );
  rejected({ type: 'evaluateStyle', styleId: 'styles/x' }, /"styleId" must be an absolute path/);
});

test('ids, enums and numbers are checked: tokens, sizes, strengths, scales, formats', () => {
  const base = { type: 'preview', requestId: 1, imageToken: 'img-1', styleId: '/s/x', size: 'preview', scale: 1 };
  rejected({ ...base, imageToken: '/etc/passwd' }, /"imageToken" must be an image token \(img-<n>\)$/);
  rejected({ ...base, imageToken: `img-${'1'.repeat(20)}` }, /"imageToken" is too long \(24 characters, at most 16\)/);
  rejected({ ...base, imageToken: 'img-0' }, /"imageToken" must be an image token/);
  rejected({ ...base, imageToken: 'img-1 ' }, /"imageToken" must be an image token/);
  rejected({ ...base, requestId: -1 }, /between 0 and/);
  rejected({ ...base, requestId: 1.5 }, /integer/);
  rejected({ ...base, requestId: '1' }, /finite number/);
  rejected({ ...base, size: 'huge' }, /"size" must be one of/);
  rejected({ ...base, scale: 0 }, /"scale" must be between 0.25 and 4/);
  rejected({ ...base, scale: Infinity }, /finite number/);
  rejected({ ...base, scale: NaN }, /finite number/);
  const save = {
    type: 'save',
    mode: 'save',
    imageToken: 'img-1',
    styleId: '/s/x',
    strength: 1,
    colorMode: 'none',
    format: 'png',
    scale: 1,
  };
  rejected({ ...save, strength: 1.0001 }, /"strength" must be between 0 and 1/);
  rejected({ ...save, strength: -0.1 }, /"strength" must be between 0 and 1/);
  rejected({ ...save, colorMode: 'sepia' }, /"colorMode" must be one of/);
  rejected({ ...save, format: 'exe' }, /"format" must be one of/);
  rejected({ ...save, mode: 'overwrite' }, /"mode" must be one of/);
  rejected({ type: 'save', mode: 'save' }, /"imageToken" is missing$/);
});

test('blends: up to 4 other styles as plain { styleId, weight } parts, weights in 0..1 adding up to at most 1', () => {
  const base = { type: 'preview', requestId: 1, imageToken: 'img-1', styleId: '/s/main', size: 'preview', scale: 1 };
  const save = {
    type: 'save',
    mode: 'save',
    imageToken: 'img-1',
    styleId: '/s/main',
    strength: 1,
    colorMode: 'none',
    format: 'png',
    scale: 1,
  };
  const blend = [
    { styleId: '/s/udnie', weight: 0.3 },
    { styleId: 'C:\\styles\\wave', weight: 0.25 },
  ];
  accepted({ ...base, blend });
  accepted({ ...base, blend, blendMode: 'norm' });
  accepted({ ...save, blend, blendMode: 'outputs' });
  // Edges: all of it to the other styles, a part at 0, four parts.
  ok({ ...base, blend: [{ styleId: '/s/a', weight: 1 }] });
  ok({ ...base, blend: [{ styleId: '/s/a', weight: 0 }] });
  ok({ ...base, blend: [0.1, 0.2, 0.3, 0.4].map((weight, i) => ({ styleId: `/s/${i}`, weight })) });
  ok({ ...base, blend: [0.7, 0.1, 0.1, 0.1].map((weight, i) => ({ styleId: `/s/${i}`, weight })) });
  // The returned parts are fresh plain objects, not the caller's.
  const m = ok({ ...save, blend });
  assert.ok(m.type === 'save' && m.blend && m.blend !== blend && m.blend[0] !== blend[0]);

  for (const msg of [base, save]) {
    rejected({ ...msg, blend: [] }, /"blend" is empty/);
    rejected({ ...msg, blend: {} }, /"blend" must be an array/);
    rejected({ ...msg, blend: '/s/udnie=0.3' }, /"blend" must be an array/);
    rejected({ ...msg, blend: { 0: { styleId: '/s/a', weight: 0.1 }, length: 1 } }, /"blend" must be an array/);
    rejected(
      { ...msg, blend: Object.setPrototypeOf([{ styleId: '/s/a', weight: 0.1 }], Object.create(Array.prototype)) },
      /"blend" must be an array/,
    );
    rejected({ ...msg, blend: Object.assign([{ styleId: '/s/a', weight: 0.1 }], { extra: 1 }) }, /plain array/);
    rejected(
      { ...msg, blend: [, { styleId: '/s/a', weight: 0.1 }] },
      /plain array|"blend\[0\]": must be a plain object/,
    );
    rejected(
      { ...msg, blend: Array.from({ length: 5 }, (_, i) => ({ styleId: `/s/${i}`, weight: 0.1 })) },
      /too many styles \(5, at most 4\)/,
    );
    // A long (sparse) array is refused by its length before anything is read from it.
    rejected({ ...msg, blend: new Array(100_000) }, /too many styles \(100000, at most 4\)/);
    rejected({ ...msg, blend: [null] }, /"blend\[0\]" must be a plain object/);
    rejected({ ...msg, blend: [['/s/a', 0.5]] }, /"blend\[0\]" must be a plain object/);
    rejected(
      { ...msg, blend: [Object.create({ styleId: '/s/a', weight: 0.5 })] },
      /"blend\[0\]" must be a plain object/,
    );
    rejected(
      { ...msg, blend: [{ styleId: '/s/a', weight: 0.5, __proto__: { polluted: true } }] },
      /"blend\[0\]" must be a plain object/,
    );
    rejected(
      { ...msg, blend: [{ styleId: '/s/a', weight: 0.5, style: '/etc' }] },
      /"blend\[0\]" has an unexpected field "style"/,
    );
    rejected({ ...msg, blend: [{ styleId: '/s/a' }] }, /"blend\[0\]\.weight" is missing$/);
    rejected({ ...msg, blend: [{ weight: 0.5 }] }, /"blend\[0\]\.styleId" is missing/);
    rejected(
      { ...msg, blend: [{ styleId: '../styles/udnie', weight: 0.5 }] },
      /"blend\[0\]\.styleId" must be an absolute path/,
    );
    rejected({ ...msg, blend: [{ styleId: 'udnie', weight: 0.5 }] }, /absolute path/);
    rejected({ ...msg, blend: [{ styleId: '', weight: 0.5 }] }, /"blend\[0\]\.styleId" is empty/);
    rejected({ ...msg, blend: [{ styleId: '/s/a\u0000/../../etc', weight: 0.5 }] }, /NUL/);
    rejected({ ...msg, blend: [{ styleId: `/${'a'.repeat(GALLERY_LIMITS.maxPathLength)}`, weight: 0.5 }] }, /too long/);
    for (const weight of [NaN, Infinity, -Infinity])
      rejected(
        { ...msg, blend: [{ styleId: '/s/a', weight }] },
        /"blend\[0\]\.weight" must be a finite number between 0 and 1$/,
      );
    for (const weight of [-0.01, 1.01, 1e308, -1e-300 * 1e-10 - 1e-9])
      rejected({ ...msg, blend: [{ styleId: '/s/a', weight }] }, /"blend\[0\]\.weight" must be between 0 and 1, got/);
    for (const weight of ['0.5', null, true, [0.5], { valueOf: () => 0.5 }])
      rejected({ ...msg, blend: [{ styleId: '/s/a', weight }] }, /"blend\[0\]\.weight" must be a finite number/);
    rejected({ ...msg, blend: [{ styleId: '/s/main', weight: 0.3 }] }, /"blend\[0\]" repeats the selected style/);
    rejected(
      {
        ...msg,
        blend: [
          { styleId: '/s/a', weight: 0.3 },
          { styleId: '/s/a', weight: 0.2 },
        ],
      },
      /"blend\[1\]" repeats a style/,
    );
    rejected(
      {
        ...msg,
        blend: [
          { styleId: '/s/a', weight: 0.6 },
          { styleId: '/s/b', weight: 0.5 },
        ],
      },
      /weights add up to 1\.1; at most 1/,
    );
    rejected({ ...msg, blend: [1, 1, 1, 1].map((weight, i) => ({ styleId: `/s/${i}`, weight })) }, /add up to 4/);
    rejected({ ...msg, blendMode: 'norm' }, /"blendMode" without "blend"/);
    rejected({ ...msg, blend, blendMode: 'average' }, /"blendMode" must be one of outputs, norm/);
    rejected({ ...msg, blend, blendMode: ['norm'] }, /"blendMode" must be one of/);
    rejected({ ...msg, blend, blendWeights: [1] }, /unexpected field "blendWeights"/);
  }
});

test('dropped files: a plain name, a non-empty Uint8Array, at most 64 MiB', () => {
  rejected({ type: 'dropImage', name: '../../.bashrc', bytes: PNG }, /plain file name/);
  rejected({ type: 'dropImage', name: 'a\\b.png', bytes: PNG }, /plain file name/);
  rejected({ type: 'dropImage', name: '..', bytes: PNG }, /plain file name/);
  rejected({ type: 'dropImage', name: 'a\nb.png', bytes: PNG }, /plain file name/);
  rejected({ type: 'dropImage', name: 'x'.repeat(300), bytes: PNG }, /too long/);
  rejected({ type: 'dropImage', name: 'a.png', bytes: [...PNG] }, /must be a Uint8Array/);
  rejected({ type: 'dropImage', name: 'a.png', bytes: 'iVBORw0KGgo=' }, /must be a Uint8Array/);
  rejected({ type: 'dropImage', name: 'a.png', bytes: new Uint8Array(0) }, /is empty/);
  // A huge payload: one byte over the cap (the array is allocated but never copied or decoded).
  rejected(
    { type: 'dropImage', name: 'a.png', bytes: new Uint8Array(GALLERY_LIMITS.maxImageBytes + 1) },
    /too large \(67108865 bytes, at most 67108864\)/,
  );
  rejected({ type: 'log', level: 'info', message: 'x'.repeat(GALLERY_LIMITS.maxLogLength + 1) }, /too long/);
});

test('image types are recognised by their bytes, not their names', () => {
  assert.equal(sniffImageType(PNG), 'png');
  assert.equal(sniffImageType(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 74, 70, 73, 70, 0, 1])), 'jpeg');
  assert.equal(sniffImageType(new TextEncoder().encode('GIF89a......')), 'gif');
  assert.equal(sniffImageType(new TextEncoder().encode('RIFF\u0000\u0000\u0000\u0000WEBPVP8 ')), 'webp');
  assert.equal(sniffImageType(new TextEncoder().encode('II*\u0000........')), 'tiff');
  assert.equal(sniffImageType(new TextEncoder().encode('\u0000\u0000\u0000\u001cftypavif....')), 'avif');
  assert.equal(sniffImageType(new TextEncoder().encode('\u0000\u0000\u0000\u001cftypheic....')), 'heif');
  assert.equal(sniffImageType(new TextEncoder().encode('#!/bin/sh\nrm -rf ~\n')), undefined);
  assert.equal(sniffImageType(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"></svg>')), undefined);
  assert.equal(sniffImageType(PNG.subarray(0, 8)), undefined, 'too short to be an image');
});

test("clips: the frame picker's time, Stylize Clip, its cancel and the player's report are checked field by field", () => {
  const style = '/styles/udnie';
  const preview = { type: 'preview', requestId: 3, imageToken: 'img-2', styleId: style, size: 'preview', scale: 1 };
  assert.deepEqual(ok({ ...preview, time: 1.25 }), { ...preview, time: 1.25 });
  assert.deepEqual(ok(preview), preview, 'no time: a still image');
  rejected({ ...preview, time: -0.1 }, /"time"/);
  rejected({ ...preview, time: GALLERY_LIMITS.maxClipSeconds + 1 }, /"time"/);
  rejected({ ...preview, time: Number.NaN }, /"time"/);
  rejected({ ...preview, time: '1' }, /"time"/);

  const clip = {
    type: 'stylizeClip',
    imageToken: 'img-2',
    styleId: style,
    strength: 0.7,
    colorMode: 'luminance',
    scale: 1,
  };
  assert.deepEqual(ok(clip), clip);
  const blend = [{ styleId: '/styles/starry', weight: 0.3 }];
  assert.deepEqual(ok({ ...clip, blend, blendMode: 'norm' }), { ...clip, blend, blendMode: 'norm' });
  rejected({ ...clip, imageToken: '../img-2' }, /"imageToken"/);
  rejected({ ...clip, styleId: 'udnie' }, /"styleId"/);
  rejected({ ...clip, strength: 1.5 }, /"strength"/);
  rejected({ ...clip, colorMode: 'sepia' }, /"colorMode"/);
  rejected({ ...clip, scale: 0.1 }, /"scale"/);
  rejected({ ...clip, format: 'gif' }, /"format"/);
  rejected({ ...clip, blend: [{ styleId: style, weight: 0.3 }] }, /repeats the selected style/);
  const { strength: _s, ...noStrength } = clip;
  rejected(noStrength, /"strength"/);

  assert.deepEqual(ok({ type: 'cancelClip' }), { type: 'cancelClip' });
  rejected({ type: 'cancelClip', imageToken: 'img-2' }, /"imageToken"/);

  const report = { type: 'playback', state: 'playing', detail: 'WebM (libvpx-vp9) 64×48, 1.00 s' };
  assert.deepEqual(ok(report), report);
  assert.deepEqual(ok({ ...report, state: 'failed', detail: '' }), { ...report, state: 'failed', detail: '' });
  rejected({ ...report, state: 'paused' }, /"state"/);
  rejected({ ...report, detail: 'x'.repeat(GALLERY_LIMITS.maxPlaybackDetail + 1) }, /"detail" is too long/);
  rejected({ type: 'playback', state: 'playing' }, /"detail"/);

  assert.deepEqual(ok({ type: 'runCommand', command: 'setUpVideo' }), { type: 'runCommand', command: 'setUpVideo' });
});

test('video containers are recognised by their bytes: MP4, MOV, WebM, MKV; images and scripts are not videos', () => {
  const bytes = (s: string) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));
  assert.equal(sniffVideoType(bytes('\u0000\u0000\u0000\u0020ftypisom\u0000\u0000\u0002\u0000')), 'mp4');
  assert.equal(sniffVideoType(bytes('\u0000\u0000\u0000\u0014ftypqt  \u0000\u0000\u0002\u0000')), 'mov');
  const ebml = '\u001a\u0045\u00df\u00a3\u009f\u0042\u0086\u0081\u0001\u0042\u0082\u0084';
  assert.equal(sniffVideoType(bytes(`${ebml}webm\u0042\u0087`)), 'webm');
  assert.equal(sniffVideoType(bytes(`${ebml}matroska\u0042\u0087`)), 'mkv');
  assert.equal(sniffVideoType(bytes('\u0000\u0000\u0000\u001cftypavif........')), undefined, 'AVIF is an image');
  assert.equal(sniffVideoType(PNG), undefined);
  assert.equal(sniffVideoType(bytes('#!/bin/sh\nrm -rf ~\n')), undefined);
  assert.equal(sniffVideoType(bytes('ftyp')), undefined, 'too short');
});

test('PathGuard reads only existing files inside the roots (symbolic links resolved) or granted files', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fst-guard-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const ws = path.join(tmp, 'ws');
  const outside = path.join(tmp, 'outside');
  fs.mkdirSync(path.join(ws, 'photos'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(ws, 'photos', 'a.png'), PNG);
  fs.writeFileSync(path.join(outside, 'secret.png'), PNG);
  fs.writeFileSync(path.join(ws, 'big.png'), new Uint8Array(2048));
  fs.symlinkSync(path.join(outside, 'secret.png'), path.join(ws, 'link-to-secret.png'));
  fs.symlinkSync(outside, path.join(ws, 'linked-dir'));
  const guard = new PathGuard({ roots: () => [ws], maxBytes: 1024 });

  assert.equal(
    await guard.checkFile(path.join(ws, 'photos', 'a.png')),
    fs.realpathSync(path.join(ws, 'photos', 'a.png')),
  );
  assert.equal(
    await guard.checkFile(`${ws}/photos/../photos/./a.png`),
    fs.realpathSync(path.join(ws, 'photos', 'a.png')),
  );
  const msg = async (p: string) => {
    const r = await guard.checkFile(p);
    assert.ok(r instanceof Error, `${p} should be refused`);
    return r.message;
  };
  assert.match(await msg(`${ws}/../outside/secret.png`), /outside the workspace/);
  assert.match(await msg(`${ws}/photos/../../../../../../etc/passwd`), /outside the workspace/);
  assert.match(await msg('/etc/passwd'), /outside the workspace/);
  assert.match(await msg('../../etc/passwd'), /not an absolute path/);
  assert.match(
    await msg(path.join(ws, 'link-to-secret.png')),
    /outside the workspace/,
    'a link inside pointing outside',
  );
  assert.match(await msg(path.join(ws, 'linked-dir', 'secret.png')), /outside the workspace/, 'a linked folder');
  assert.match(
    await msg(path.join(outside, 'missing.png')),
    /outside the workspace/,
    'no existence oracle outside the roots',
  );
  assert.match(await msg(path.join(ws, 'missing.png')), /does not exist/);
  assert.match(await msg(path.join(ws, 'photos')), /not a file/);
  assert.match(await msg(path.join(ws, 'big.png')), /too large \(2048 bytes, at most 1024\)/);
  assert.match(await msg(`${ws}/a\u0000.png`), /not a path/);

  // A file the user chose in a dialog is allowed even outside the roots; only that file.
  await guard.grant(path.join(outside, 'secret.png'));
  assert.equal(
    await guard.checkFile(path.join(outside, 'secret.png')),
    fs.realpathSync(path.join(outside, 'secret.png')),
  );
  fs.writeFileSync(path.join(outside, 'other.png'), PNG);
  assert.match(await msg(path.join(outside, 'other.png')), /outside the workspace/);
});

test('the webview CSP: nonce-only scripts and styles, no remote origins, no eval or inline code', () => {
  const nonce = makeNonce();
  assert.match(nonce, /^[A-Za-z0-9]{20,}$/);
  assert.notEqual(makeNonce(), nonce);
  const csp = contentSecurityPolicy('https://*.vscode-cdn.net', nonce);
  assert.equal(
    csp,
    `default-src 'none'; img-src https://*.vscode-cdn.net blob: data:; media-src https://*.vscode-cdn.net; style-src https://*.vscode-cdn.net 'nonce-${nonce}'; script-src 'nonce-${nonce}'; font-src https://*.vscode-cdn.net`,
  );
  assert.doesNotMatch(csp, /unsafe-(eval|inline)|\*(?!\.vscode-cdn)|http:/);
});
