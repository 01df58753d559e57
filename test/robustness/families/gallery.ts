// Hostile messages from the gallery webview: what parseWebviewMessage must refuse without
// touching the file system (unknown types, missing, extra and wrong-typed fields, NaN and
// out-of-range numbers, 100 MB strings, odd prototypes, blends with hostile parts), and what
// PathGuard must refuse once a
// message is well formed (paths climbing out of the workspace, absolute paths elsewhere,
// symbolic links — file and folder — that lead outside, a sibling folder sharing the
// workspace's name as a prefix, folders, missing files). A path the guard accepts must really
// lie inside the workspace: anything else is an escape.
import fs from 'node:fs';
import path from 'node:path';
import { parseWebviewMessage, GALLERY_COMMANDS, GALLERY_LIMITS } from '../../../src/protocol/gallery';
import { PathGuard, sniffImageType } from '../../../src/views/gallery/pathGuard';
import { CrashError, type Family, type FuzzInput, type RunResult } from '../lib/family';
import { FsRecorder, isInside } from '../lib/sandbox';
import { Rng, seedOf } from '../lib/prng';
import { previewMessage, saveMessage } from '../../helpers/galleryMessages';

type Msg = Record<string, unknown>;

/** One valid example of every message type, the fuzzer's starting points. */
function validMessages(ws: string): Msg[] {
  const style = path.join(ws, 'styles', 'tiny');
  const blend = [{ styleId: path.join(ws, 'styles', 'other'), weight: 0.3 }];
  return [
    { type: 'ready' },
    { type: 'pickImage' },
    { type: 'pickWorkspaceImage' },
    { type: 'useActiveEditorImage' },
    { type: 'useSampleImage' },
    { type: 'cancelTraining' },
    { type: 'pauseTraining' },
    { type: 'openImagePath', path: path.join(ws, 'photo.png') },
    {
      type: 'dropImage',
      name: 'drop.png',
      bytes: new Uint8Array(Buffer.from('\x89PNG\r\n\x1a\n0000000000000000', 'latin1')),
    },
    previewMessage('img-1', style),
    saveMessage('img-1', style, { strength: 0.5 }),
    previewMessage('img-1', style, { blend, blendMode: 'norm' }),
    saveMessage('img-1', style, { strength: 0.5, blend }),
    { type: 'copyPath', path: path.join(ws, 'photo.png') },
    { type: 'openResult', path: path.join(ws, 'photo.png') },
    { type: 'runCommand', command: GALLERY_COMMANDS[0] },
    { type: 'resumeTraining', styleId: style },
    { type: 'log', level: 'info', message: 'hello' },
  ];
}

function hostileValues(huge: string): [string, unknown][] {
  return [
    ['undefined', undefined],
    ['null', null],
    ['number', 42],
    ['nan', NaN],
    ['infinity', Infinity],
    ['-1', -1],
    ['1e308', 1e308],
    ['2^31', 2 ** 31],
    ['fraction', 0.5],
    ['bool', true],
    ['empty', ''],
    ['string', 'x'],
    ['number-string', '1'],
    ['array', ['a']],
    ['object', { a: 1 }],
    ['nul', `/x/\u0000/y`],
    ['relative', '../../etc/passwd'],
    ['windows', 'C:\\Windows\\win.ini'],
    ['unc', '\\\\server\\share\\x.png'],
    ['bytes', new Uint8Array(4)],
    ['long', 'a'.repeat(GALLERY_LIMITS.maxPathLength + 1)],
    ['100MB', huge],
    ['function', () => 1],
    ['date', new Date(0)],
    ['map', new Map([['type', 'ready']])],
    ['bigint', 10n],
    ['symbol', Symbol('x')],
  ];
}

/** Paths a compromised webview could send; `ws` is the workspace (the only root). */
function hostilePaths(ws: string, outside: string): string[] {
  return [
    '/etc/passwd',
    '/proc/self/environ',
    path.join(outside, 'decoy.png'),
    path.join(ws, '..', 'outside', 'decoy.png'),
    `${ws}/../outside/decoy.png`,
    path.join(ws, 'link-to-outside.png'),
    path.join(ws, 'dir-link', 'decoy.png'),
    path.join(ws, 'dir-link', '..', 'photo.png'),
    `${ws}-evil/photo.png`,
    `${ws}evil.png`,
    ws,
    path.join(ws, 'sub'),
    path.join(ws, 'missing.png'),
    path.join(ws, 'photo.png'),
    `${ws}/./photo.png`,
    `${ws}//photo.png`,
    `${ws}/photo.png/`,
    `${ws}/%2e%2e/outside/decoy.png`,
    path.join(ws, 'sub', '..', '..', 'outside', 'decoy.png'),
    path.join(ws, 'loop.png'),
    path.join(ws, 'dangling.png'),
    path.join(ws, 'link-to-photo.png'),
    '/',
    '//',
    `${ws}/\u2024\u2024/outside`,
  ];
}

/** The workspace the guard protects: a photo, a sub folder, and links inside that lead out. */
function makeWorkspace(ws: string, outside: string): void {
  fs.mkdirSync(path.join(ws, 'sub'), { recursive: true });
  fs.mkdirSync(`${ws}-evil`, { recursive: true });
  fs.writeFileSync(path.join(ws, 'photo.png'), 'not really a png, never read');
  fs.writeFileSync(`${ws}-evil/photo.png`, 'outside: a sibling whose name starts with the workspace name');
  fs.symlinkSync(path.join(outside, 'decoy.png'), path.join(ws, 'link-to-outside.png'));
  fs.symlinkSync(outside, path.join(ws, 'dir-link'));
  fs.symlinkSync('loop.png', path.join(ws, 'loop.png'));
  fs.symlinkSync('nothing-here.png', path.join(ws, 'dangling.png'));
  fs.symlinkSync('photo.png', path.join(ws, 'link-to-photo.png'));
}

export const family: Family = {
  name: 'gallery-messages',
  async build(env) {
    const ws = path.join(env.dir, 'workspace');
    makeWorkspace(ws, env.outside);
    const realWs = fs.realpathSync(ws);
    const huge = 'A'.repeat(100 * 1024 * 1024);
    const guard = new PathGuard({ roots: () => [ws], maxBytes: 64 * 1024 * 1024 });
    const rng = new Rng(seedOf('gallery'));
    const messages: { kind: string; msg: unknown }[] = [];
    const valid = validMessages(ws);
    // Not a message at all.
    const nullProto = Object.assign(Object.create(null), { type: 'ready' });
    class Ready {
      type = 'ready';
    }
    const throwing = {
      get type(): string {
        throw new Error('getter');
      },
    };
    for (const [kind, msg] of [
      ['null', null],
      ['undefined', undefined],
      ['number', 1],
      ['string', 'ready'],
      ['array', [{ type: 'ready' }]],
      ['bool', false],
      ['null-prototype', nullProto],
      ['class-instance', new Ready()],
      ['throwing-getter', throwing],
      [
        'proxy',
        new Proxy(
          {},
          {
            ownKeys() {
              throw new Error('trap');
            },
            get() {
              return 'ready';
            },
          },
        ),
      ],
      ['type-object', { type: { toString: () => 'ready' } }],
      ['type-100MB', { type: huge }],
      ['proto-key', JSON.parse('{"type":"ready","__proto__":{"x":1}}')],
    ] as [string, unknown][]) {
      messages.push({ kind: `shape/${kind}`, msg });
    }
    for (const t of [
      '',
      'READY',
      'ready ',
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'eval',
      'runCommand\u0000',
      'x'.repeat(10_000),
    ])
      messages.push({ kind: 'type/unknown', msg: { type: t } });
    for (const v of valid) {
      const t = v.blend ? `${v.type}+blend` : v.type;
      messages.push({ kind: `${t}/valid`, msg: v });
      messages.push({ kind: `${t}/extra-field`, msg: { ...v, extra: 1 } });
      messages.push({ kind: `${t}/extra-path-field`, msg: { ...v, path: '/etc/passwd' } });
      for (const field of Object.keys(v).filter((k) => k !== 'type')) {
        messages.push({
          kind: `${t}/missing-${field}`,
          msg: Object.fromEntries(Object.entries(v).filter(([k]) => k !== field)),
        });
        for (const [hk, hv] of hostileValues(huge)) {
          if (hk === '100MB' && rng.next() < 0.7) continue; // a few of these are enough (100 MB each)
          messages.push({ kind: `${t}/${field}=${hk}`, msg: { ...v, [field]: hv } });
        }
      }
    }
    // Blends: hostile parts (each field of a part, odd arrays and objects, too many, repeats, weights adding up to more than 1).
    const withBlend = valid.filter((v) => v.blend);
    const part = (over: Msg = {}) => ({ styleId: path.join(ws, 'styles', 'other'), weight: 0.3, ...over });
    for (const v of withBlend) {
      const t = `${v.type}+blend`;
      for (const field of ['styleId', 'weight']) {
        for (const [hk, hv] of hostileValues(huge)) {
          if (hk === '100MB' && rng.next() < 0.8) continue;
          messages.push({ kind: `${t}/part-${field}=${hk}`, msg: { ...v, blend: [part({ [field]: hv })] } });
        }
      }
      const odd: [string, unknown][] = [
        ['empty', []],
        [
          'six-parts',
          Array.from({ length: 6 }, (_, i) => part({ styleId: path.join(ws, 'styles', `s${i}`), weight: 0.1 })),
        ],
        ['long-sparse', new Array(1_000_000)],
        ['holes', [, part()]],
        ['extra-array-key', Object.assign([part()], { extra: 1 })],
        ['array-subclass', Object.setPrototypeOf([part()], Object.create(Array.prototype))],
        ['array-like', { 0: part(), length: 1 }],
        ['part-extra-field', [part({ path: '/etc/passwd' })]],
        ['part-null-prototype', [Object.assign(Object.create(null), part())]],
        [
          'part-proto-key',
          [
            JSON.parse(
              `{"styleId":${JSON.stringify(path.join(ws, 'styles', 'other'))},"weight":0.3,"__proto__":{"x":1}}`,
            ),
          ],
        ],
        ['part-array', [[path.join(ws, 'styles', 'other'), 0.3]]],
        ['repeated', [part(), part({ weight: 0.1 })]],
        ['repeats-main', [part({ styleId: v.styleId })]],
        ['sum-over-1', [part({ weight: 0.6 }), part({ styleId: '/s/b', weight: 0.5 })]],
        ['part-outside', [part({ styleId: '/etc' })]],
        ['part-climbing', [part({ styleId: `${ws}/styles/../../../etc` })]],
      ];
      for (const [k, blend] of odd) messages.push({ kind: `${t}/blend-${k}`, msg: { ...v, blend } });
      messages.push({
        kind: `${t}/mode-without-blend`,
        msg: Object.fromEntries(Object.entries({ ...v, blendMode: 'norm' }).filter(([k]) => k !== 'blend')),
      });
    }
    for (const c of ['deleteStyle', 'workbench.action.terminal.new', 'fastStyleTransfer.train', '../train', 'train;rm'])
      messages.push({ kind: 'runCommand/not-allowed', msg: { type: 'runCommand', command: c } });
    for (const p of hostilePaths(ws, env.outside)) {
      for (const type of ['openImagePath', 'copyPath', 'openResult'])
        messages.push({ kind: `${type}/hostile-path`, msg: { type, path: p } });
    }
    for (let k = 0; k < 20; k++)
      messages.push({
        kind: 'dropImage/random-bytes',
        msg: { type: 'dropImage', name: `r${k}.png`, bytes: new Uint8Array(rng.bytes(rng.int(1, 64))) },
      });
    messages.push({
      kind: 'dropImage/too-large',
      msg: { type: 'dropImage', name: 'big.png', bytes: new Uint8Array(GALLERY_LIMITS.maxImageBytes + 1) },
    });

    const inputs: FuzzInput[] = messages.map(({ kind, msg }) => ({
      kind,
      async run(): Promise<RunResult> {
        // The validator decides from the message alone: no file-system access at all.
        const recorder = FsRecorder.current!;
        const parsed = await recorder.untouched(() => parseWebviewMessage(msg));
        if (parsed instanceof Error) return { note: 'rejected' };
        if (parsed.type === 'dropImage') sniffImageType(parsed.bytes);
        if (!('path' in parsed)) return { note: 'accepted' };
        // Paths: the guard may look (realpath, stat) but must only ever hand back a file inside the workspace.
        const file = await guard.checkFile(parsed.path);
        if (file instanceof Error) return { note: 'path-refused' };
        if (typeof file !== 'string') throw new CrashError(`checkFile returned ${String(file)}`);
        if (!isInside(file, realWs) || !fs.statSync(file).isFile())
          return { escape: `PathGuard accepted ${parsed.path} → ${file}` };
        return { note: 'path-accepted' };
      },
    }));
    return { inputs, readRoots: [ws] };
  },
};
