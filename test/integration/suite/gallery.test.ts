// The gallery in the real extension host (its webview loads in the workbench's Chromium): one
// panel, a preview round trip through the host's message handler, saving without ever
// overwriting, blends (previews equal to the engine's blend, saved under the blend's name, the
// norm mode and its refusals), hostile messages refused and logged, and the live training view
// (state restored when the panel is reopened mid-training; Pause stops with a checkpoint that
// can be resumed).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { HostToWebview } from '../../../src/protocol/gallery';
import type { TrainResult } from '../../../src/protocol/jobs';
import { api, openReadyGallery, recorder, trainArgs, udnieStyle, until, useSharedVgg, workspaceDir } from './helpers';
import { decodePng, difference, type Rgb } from './png';
import { previewMessage, saveMessage } from '../../helpers/galleryMessages';

type Posted = HostToWebview;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];

function pngSize(b: Uint8Array): { w: number; h: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { w: v.getUint32(16), h: v.getUint32(20) };
}

/** sRGB byte ↔ linear light, as the engine mixes blended outputs. */
const toLinear = (v: number) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};
const toSrgb = (l: number) => 255 * (l <= 0.0031308 ? 12.92 * l : 1.055 * l ** (1 / 2.4) - 0.055);

function mixInLinearLight(images: readonly Rgb[], weights: readonly number[]): Rgb {
  const data = new Uint8Array(images[0].data.length);
  for (let i = 0; i < data.length; i++)
    data[i] = Math.round(
      Math.min(255, Math.max(0, toSrgb(images.reduce((l, img, k) => l + weights[k] * toLinear(img.data[i]), 0)))),
    );
  return { width: images[0].width, height: images[0].height, data };
}

/**
 * A copy of the bundled Starry Night in the user's styles, changed in one kind of parameter:
 * 'norm' negates every instance-norm shift (a style "fine-tuned" from it: same convolutions),
 * 'conv' changes one convolution weight (same shape, other convolutions).
 */
async function starryTwin(
  a: Awaited<ReturnType<typeof api>>,
  starry: string,
  change: 'norm' | 'conv',
): Promise<string> {
  const name = change === 'norm' ? 'Starry Twin' : 'Starry Conv Twin';
  const dir = path.join(a.context.storageDir, 'styles', name.toLowerCase().replace(/ /g, '-'));
  if (!fs.existsSync(dir)) {
    fs.cpSync(starry, dir, { recursive: true });
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'style.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'style.json'), JSON.stringify({ ...meta, name }));
    const model = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as {
      weightsManifest: { weights: { name: string; shape: number[]; quantization?: { dtype: string } }[] }[];
    };
    const bin = fs.readFileSync(path.join(dir, 'weights.bin'));
    let offset = 0;
    for (const w of model.weightsManifest[0].weights) {
      assert.equal(w.quantization?.dtype, 'float16', 'the bundled weights are float16');
      const count = w.shape.reduce((x, y) => x * y, 1);
      if (change === 'norm' && w.name.endsWith('/shift'))
        for (let i = 0; i < count; i++) bin[offset + 2 * i + 1] ^= 0x80; // the sign bit
      if (change === 'conv' && w.name === 'conv2/weight') bin[offset] ^= 0x01;
      offset += 2 * count;
    }
    assert.equal(offset, bin.length, 'every parameter was located');
    fs.writeFileSync(path.join(dir, 'weights.bin'), bin);
  }
  await a.store.refresh();
  const style = a.store.all.find((x) => x.id === dir);
  assert.ok(style && !style.error, `${name} is listed as a usable style`);
  return dir;
}

suite('gallery', () => {
  suiteSetup(async () => {
    const a = await api();
    await udnieStyle(a);
    // Earlier suites leave image previews (webviews) open beside their stylized files; start
    // the gallery in a workbench without them, as a user opening it usually would.
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('Open Style Gallery opens one panel, loads its webview and reveals it when run again', async () => {
    const a = await api();
    await openReadyGallery();
    const panel = a.gallery.galleryPanel;
    assert.ok(panel, 'a panel');
    assert.equal(panel.title, 'Style Gallery');
    assert.equal(panel.webview.options.enableScripts, true);
    const roots = panel.webview.options.localResourceRoots?.map((u) => u.fsPath) ?? [];
    assert.deepEqual(
      roots,
      [
        path.join(a.context.extension.extensionPath, 'dist', 'webview'),
        path.join(a.context.storageDir, 'gallery', 'playback'),
      ],
      "only the bundle and the stylized clips' previews are loadable",
    );
    assert.match(
      panel.webview.html,
      /Content-Security-Policy" content="default-src 'none'; img-src [^;]+ blob: data:; media-src [^;]+; style-src [^;]+ 'nonce-[A-Za-z0-9]+'; script-src 'nonce-[A-Za-z0-9]+'; font-src [^"]+"/,
    );
    assert.doesNotMatch(panel.webview.html, /unsafe-|https?:\/\/(?!.*vscode)/);
    await vscode.commands.executeCommand('fastStyleTransfer.openGallery');
    assert.equal(a.gallery.galleryPanel, panel, 'the same panel, revealed');
  });

  test('Open in Gallery (Styles view) focuses the style; the sidebar Preview view gets its own compact session', async () => {
    const { a, seen, sub, next } = await recorder();
    try {
      await openReadyGallery();
      const id = await udnieStyle(a);
      const from = seen.length;
      // The tree passes its node; the palette or other callers pass the id.
      await vscode.commands.executeCommand('fastStyleTransfer.openGalleryForStyle', {
        kind: 'style',
        style: a.store.find(id),
      });
      assert.equal((await next('focusStyle', from, 5_000)).styleId, id);
      const layouts: string[] = [];
      const sub2 = a.gallery.onDidPost((m, layout) => {
        if (m.type === 'init') layouts.push(layout);
      });
      await vscode.commands.executeCommand('fastStyleTransfer.galleryView.focus');
      await until(() => layouts.includes('sidebar'), 60_000, 'the sidebar view to load and get its init message');
      sub2.dispose();
      const init = seen
        .slice(from)
        .find((m): m is Extract<Posted, { type: 'init' }> => m.type === 'init' && m.layout === 'sidebar')!;
      assert.ok(
        init.styles.some((s) => s.id === id),
        'the sidebar lists the styles',
      );
      await vscode.commands.executeCommand('workbench.action.closeSidebar');
    } finally {
      sub.dispose();
    }
  });

  test('preview round trip: an image from the workspace, the udnie style, PNG bytes back (cached the second time)', async function () {
    this.timeout(180_000);
    const { a, seen, sub, next } = await recorder();
    try {
      await openReadyGallery();
      const style = await udnieStyle(a);
      const from = seen.length;
      await a.gallery.receive({ type: 'openImagePath', path: path.join(workspaceDir(), 'gradient.png') });
      const image = (await next('image', from, 5_000)).image;
      assert.match(image.token, /^img-\d+$/);
      assert.equal(image.name, 'gradient.png');
      assert.equal(image.displayPath, 'gradient.png');
      await a.gallery.receive({
        type: 'preview',
        requestId: 41,
        imageToken: image.token,
        styleId: style,
        size: 'preview',
        scale: 1,
      });
      const p = await next('preview', from, 120_000, (m) => m.requestId === 41);
      for (const img of [p.original, p.stylized]) {
        assert.ok(img.bytes instanceof Uint8Array);
        assert.deepEqual([...img.bytes.subarray(0, 4)], PNG_SIGNATURE);
        assert.deepEqual(pngSize(img.bytes), { w: 66, h: 50 });
        assert.equal(
          img.bytes.byteLength,
          img.bytes.buffer.byteLength,
          'each image owns its buffer (nothing else crosses to the webview)',
        );
      }
      assert.deepEqual([p.sourceWidth, p.sourceHeight], [66, 50]);
      assert.ok(p.runtime.length > 0);
      // Same request again: answered from the host's cache with the same bytes.
      const from2 = seen.length;
      await a.gallery.receive({
        type: 'preview',
        requestId: 42,
        imageToken: image.token,
        styleId: style,
        size: 'preview',
        scale: 1,
      });
      const again = await next('preview', from2, 2_000, (m) => m.requestId === 42);
      assert.deepEqual(again.stylized.bytes, p.stylized.bytes);
      // Full size at half scale: the engine scales the input first.
      await a.gallery.receive({
        type: 'preview',
        requestId: 43,
        imageToken: image.token,
        styleId: style,
        size: 'full',
        scale: 0.5,
      });
      const half = await next('preview', from2, 120_000, (m) => m.requestId === 43);
      assert.deepEqual(pngSize(half.stylized.bytes), { w: 33, h: 25 });
      assert.deepEqual(pngSize(half.original.bytes), { w: 33, h: 25 }, 'the original as the network saw it');
    } finally {
      sub.dispose();
    }
  });

  test('Save writes name.<style>.ext beside the image and never overwrites; Save of dropped bytes goes to the workspace', async function () {
    this.timeout(180_000);
    const { a, seen, sub, next } = await recorder();
    try {
      await openReadyGallery();
      const style = await udnieStyle(a);
      const input = path.join(workspaceDir(), 'photos', 'astronaut.png');
      const original = fs.readFileSync(input);
      let from = seen.length;
      await a.gallery.receive({ type: 'openImagePath', path: input });
      const { token } = (await next('image', from, 5_000)).image;
      const save = {
        type: 'save',
        mode: 'save',
        imageToken: token,
        styleId: style,
        strength: 0.5,
        colorMode: 'luminance',
        format: 'png',
        scale: 1,
      };
      await a.gallery.receive(save);
      const first = await next('saved', from, 120_000);
      assert.equal(first.path, path.join(workspaceDir(), 'photos', 'astronaut.udnie.png'));
      assert.equal(first.displayPath, 'photos/astronaut.udnie.png');
      from = seen.length;
      await a.gallery.receive(save);
      const second = await next('saved', from, 120_000);
      assert.equal(
        second.path,
        path.join(workspaceDir(), 'photos', 'astronaut.udnie-2.png'),
        'a fresh name, not an overwrite',
      );
      assert.ok(fs.existsSync(first.path) && fs.existsSync(second.path));
      assert.deepEqual(fs.readFileSync(input), original, 'the original is untouched');

      from = seen.length;
      await a.gallery.receive({
        type: 'dropImage',
        name: 'from-desktop.jpg',
        bytes: new Uint8Array(fs.readFileSync(path.join(workspaceDir(), 'photos', 'coffee.jpg'))),
      });
      const dropped = (await next('image', from, 5_000)).image;
      assert.equal(dropped.origin, 'drop');
      await a.gallery.receive({ ...save, imageToken: dropped.token, format: 'same' });
      const saved = await next('saved', from, 120_000);
      assert.equal(saved.path, path.join(workspaceDir(), 'from-desktop.udnie.jpg'));

      // Copy Path of a saved result puts it on the clipboard.
      await a.gallery.receive({ type: 'copyPath', path: saved.path });
      assert.equal(await vscode.env.clipboard.readText(), saved.path);
    } finally {
      sub.dispose();
    }
  });

  test("blend: Starry Night 70 % + udnie 30 % previews as the engine's blend, differs from each style alone, saves under the blend name", async function () {
    this.timeout(300_000);
    const { a, seen, sub, next } = await recorder();
    try {
      await openReadyGallery();
      const udnie = await udnieStyle(a);
      const starry = a.store.all.find((x) => x.origin === 'bundled' && x.name === 'Starry Night')?.id;
      assert.ok(starry, 'the bundled Starry Night');
      const input = path.join(workspaceDir(), 'gradient.png');
      const from = seen.length;
      await a.gallery.receive({ type: 'openImagePath', path: input });
      const { token } = (await next('image', from, 5_000)).image;
      let id = 100;
      /** Asks the gallery for a preview of the image; the answer is matched by its request id. */
      const ask = async (styleId: string, extra: object) => {
        const requestId = ++id;
        await a.gallery.receive({
          type: 'preview',
          requestId,
          imageToken: token,
          styleId,
          size: 'preview',
          scale: 1,
          ...extra,
        });
        return requestId;
      };
      const preview = async (styleId: string, extra: object = {}) => {
        const requestId = await ask(styleId, extra);
        const m = await next('preview', from, 120_000, (p) => p.requestId === requestId);
        return { bytes: m.stylized.bytes, rgb: decodePng(m.stylized.bytes) };
      };
      /** The engine's own blend of the image, asked for directly as `fst stylize --blend` asks for it. */
      const engineBlend = async (
        blend: { style: string; weight: number }[],
        o: { maxSide: number; scale: number; blendMode?: 'norm' },
      ) => {
        const r = await a.engine.request({
          type: 'preview',
          image: { path: input },
          style: starry,
          maxSide: o.maxSide,
          options: {
            strength: 1,
            colorMode: 'none',
            scale: o.scale,
            runtime: a.context.settings().stylizeRuntime,
            blend,
            ...(o.blendMode ? { blendMode: o.blendMode } : {}),
          },
        });
        return decodePng(r.stylized.bytes).data;
      };
      const starryAlone = await preview(starry);
      const udnieAlone = await preview(udnie);
      const blend = [{ styleId: udnie, weight: 0.3 }];
      const mixed = await preview(starry, { blend });
      assert.deepEqual([mixed.rgb.width, mixed.rgb.height], [66, 50]);
      for (const [alone, what] of [
        [starryAlone, 'Starry Night'],
        [udnieAlone, 'udnie'],
      ] as const) {
        const d = difference(mixed.rgb, alone.rgb);
        assert.ok(d.mean > 3, `the blend differs from ${what} alone (mean difference ${d.mean.toFixed(2)} levels)`);
      }
      // The engine's blend (`fst stylize --blend starry=0.7,udnie=0.3`).
      const starry70udnie30 = [
        { style: starry, weight: 0.7 },
        { style: udnie, weight: 0.3 },
      ];
      assert.deepEqual(
        await engineBlend(starry70udnie30, { maxSide: 512, scale: 1 }),
        mixed.rgb.data,
        "the gallery's blend preview is the engine's blend",
      );
      // And that is the two stylizations mixed 70/30 in linear light (within the 8-bit rounding of each).
      const expected = mixInLinearLight([starryAlone.rgb, udnieAlone.rgb], [0.7, 0.3]);
      const d = difference(mixed.rgb, expected);
      assert.ok(
        d.max <= 2 && d.mean < 0.5,
        `blend vs 70/30 mix of the single styles: mean ${d.mean.toFixed(3)}, max ${d.max}`,
      );
      // Full Size (here at half scale) carries the blend too.
      const full = await preview(starry, { blend, size: 'full', scale: 0.5 });
      assert.deepEqual([full.rgb.width, full.rgb.height], [33, 25]);
      assert.deepEqual(
        await engineBlend(starry70udnie30, { maxSide: 0, scale: 0.5 }),
        full.rgb.data,
        "Full Size shows the engine's blend",
      );
      // Weights that differ, a different preview (and a cache keyed on the blend).
      const other = await preview(starry, { blend: [{ styleId: udnie, weight: 0.6 }] });
      assert.ok(difference(other.rgb, mixed.rgb).mean > 1, 'another share, another picture');
      const again = await preview(starry, { blend });
      assert.deepEqual(again.bytes, mixed.bytes, 'the same blend again: the same bytes');

      // Save: the full image through the 'stylize' job, named as the engine names blends, equal to the preview.
      const savedFrom = seen.length;
      await a.gallery.receive({
        type: 'save',
        mode: 'save',
        imageToken: token,
        styleId: starry,
        strength: 1,
        colorMode: 'none',
        format: 'png',
        scale: 1,
        blend,
      });
      const saved = await next('saved', savedFrom, 120_000);
      assert.equal(saved.path, path.join(workspaceDir(), 'gradient.Starry-Night-70+udnie-30.png'));
      assert.deepEqual(
        decodePng(fs.readFileSync(saved.path)).data,
        mixed.rgb.data,
        'the saved file is the preview at full size',
      );
      const saving = seen.slice(savedFrom).find((m): m is Extract<Posted, { type: 'saving' }> => m.type === 'saving');
      assert.match(saving?.message ?? '', /with Starry Night 70% \+ udnie 30%/);

      // Norm mode: styles of different shapes are refused with the engine's reason…
      const failed = async (styleId: string, extra: object) => {
        const requestId = await ask(styleId, extra);
        return (await next('previewFailed', from, 120_000, (p) => p.requestId === requestId)).message;
      };
      assert.match(
        await failed(starry, { blend, blendMode: 'norm' }),
        /"udnie" and "Starry Night" have different network architectures; blend their outputs instead/,
      );
      // …as are styles of one shape whose convolutions differ…
      const convTwin = await starryTwin(a, starry, 'conv');
      assert.match(
        await failed(starry, { blend: [{ styleId: convTwin, weight: 0.5 }], blendMode: 'norm' }),
        /"Starry Conv Twin" and "Starry Night" do not share their convolution weights, so their instance-norm parameters cannot be mixed/,
      );
      // …while a style fine-tuned from Starry Night (same convolutions) mixes into one network in between.
      const twin = await starryTwin(a, starry, 'norm');
      const twinAlone = await preview(twin);
      const normMix = await preview(starry, { blend: [{ styleId: twin, weight: 0.5 }], blendMode: 'norm' });
      const outputMix = await preview(starry, { blend: [{ styleId: twin, weight: 0.5 }] });
      for (const [img, what] of [
        [starryAlone, 'Starry Night'],
        [twinAlone, 'the twin'],
        [outputMix, 'the mixed outputs'],
      ] as const) {
        assert.ok(difference(normMix.rgb, img.rgb).mean > 1, `mixing norm parameters differs from ${what}`);
      }
      const halfTwin = [
        { style: starry, weight: 0.5 },
        { style: twin, weight: 0.5 },
      ];
      assert.deepEqual(
        await engineBlend(halfTwin, { maxSide: 512, scale: 1, blendMode: 'norm' }),
        normMix.rgb.data,
        "the gallery's norm blend is the engine's",
      );
    } finally {
      sub.dispose();
    }
  });

  test('hostile messages are rejected with a logged reason and touch nothing outside the allowed folders', async () => {
    const { a, seen, sub } = await recorder();
    try {
      await openReadyGallery();
      const style = await udnieStyle(a);
      // A real file outside every allowed root, so a refusal is not just "does not exist".
      const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fst-secret-'));
      const secret = path.join(secretDir, 'secret.png');
      fs.copyFileSync(path.join(workspaceDir(), 'gradient.png'), secret);
      fs.symlinkSync(secretDir, path.join(workspaceDir(), 'sneaky-link'));
      await vscode.env.clipboard.writeText('unchanged');
      // A known image, so that blends are refused for their styles, not for the image.
      const registered = seen.length;
      await a.gallery.receive({ type: 'openImagePath', path: path.join(workspaceDir(), 'gradient.png') });
      const known = seen.slice(registered).find((m): m is Extract<Posted, { type: 'image' }> => m.type === 'image')!
        .image.token;
      const previewOf = (over: Record<string, unknown>) => previewMessage('img-1', style, over);
      const saveOf = (over: Record<string, unknown>) => saveMessage('img-1', style, over);
      const cases: [unknown, RegExp][] = [
        [{ type: 'rm -rf /' }, /unknown message type/],
        ['ready', /plain object/],
        [{ type: 'openImagePath', path: '../../etc/passwd' }, /absolute path/],
        [{ type: 'openImagePath', path: `${workspaceDir()}/../../../../../../etc/passwd` }, /outside the workspace/],
        [{ type: 'openImagePath', path: secret }, /outside the workspace/],
        [
          { type: 'openImagePath', path: path.join(workspaceDir(), 'sneaky-link', 'secret.png') },
          /outside the workspace/,
        ],
        [{ type: 'copyPath', path: '/etc/passwd' }, /outside the workspace/],
        [{ type: 'openResult', path: secret }, /outside the workspace/],
        [{ type: 'dropImage', name: 'huge.png', bytes: new Uint8Array(64 * 1024 * 1024 + 1) }, /too large/],
        [{ type: 'dropImage', name: '../../../.bashrc', bytes: new Uint8Array([0x89, 0x50]) }, /plain file name/],
        [
          { type: 'dropImage', name: 'script.png', bytes: new TextEncoder().encode('#!/bin/sh\necho pwned\n') },
          /not an image/,
        ],
        [previewOf({ imageToken: 'img-999999' }), /unknown image token/],
        [saveOf({ styleId: '/etc' }), /unknown style \/etc/],
        [{ type: 'resumeTraining', styleId: '/etc' }, /not a resumable style/],
        [{ type: 'evaluateStyle', styleId: '/etc' }, /not a usable style/],
        [
          previewOf({ imageToken: known, blend: [{ styleId: '/etc', weight: 0.3 }] }),
          /preview: unknown blend style \/etc/,
        ],
        [
          saveOf({ imageToken: known, styleId: style, blend: [{ styleId: secretDir, weight: 0.5 }] }),
          /save: unknown blend style/,
        ],
        [previewOf({ blend: [{ styleId: style, weight: 0.3 }] }), /repeats the selected style/],
        [
          previewOf({
            blend: [
              { styleId: '/a', weight: 0.7 },
              { styleId: '/b', weight: 0.7 },
            ],
          }),
          /add up to 1.4/,
        ],
        [{ type: 'runCommand', command: 'workbench.action.terminal.sendSequence' }, /must be one of/],
      ];
      for (const [raw, reason] of cases) {
        const before = a.gallery.rejections.length;
        const posted = seen.length;
        await a.gallery.receive(raw);
        assert.equal(
          a.gallery.rejections.length,
          before + 1,
          `${JSON.stringify(raw, (_k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v)).slice(0, 100)} was not rejected`,
        );
        assert.match(a.gallery.rejections[a.gallery.rejections.length - 1], reason);
        const replies = seen.slice(posted).map((m) => m.type);
        assert.ok(
          !replies.includes('image') && !replies.includes('preview') && !replies.includes('saved'),
          `no image was accepted (${replies.join(', ')})`,
        );
      }
      assert.equal(await vscode.env.clipboard.readText(), 'unchanged', 'Copy Path of a foreign file did nothing');
      // A flood (a compromised page) is refused message by message; the log is rate-limited and the host stays responsive.
      for (let i = 0; i < 500; i++) await a.gallery.receive({ type: 'log', level: 'error', message: 'x'.repeat(3000) });
      assert.equal(a.gallery.rejections.length, 50, 'the kept list of rejections is bounded');
      assert.match(a.gallery.rejections[49], /"message" is too long/);
      const posted = seen.length;
      await a.gallery.receive({ type: 'openImagePath', path: path.join(workspaceDir(), 'gradient.png') });
      assert.ok(
        seen.slice(posted).some((m) => m.type === 'image'),
        'still answering valid messages',
      );
      fs.rmSync(path.join(workspaceDir(), 'sneaky-link'));
      fs.rmSync(secretDir, { recursive: true, force: true });
    } finally {
      sub.dispose();
    }
  });

  test('live training view: reopening the panel mid-training restores the run; Pause saves a checkpoint and offers Resume', async function () {
    this.timeout(300_000);
    const { a, seen, sub, next } = await recorder();
    await useSharedVgg();
    try {
      await openReadyGallery();
      // Far more iterations than the test waits for: Pause ends the run, so it is still running when the panel reopens.
      let reopened: Promise<void> | undefined;
      const watch = a.training.onDidChange((s) => {
        if (!reopened && s.iteration >= 4 && s.preview) {
          // Close and reopen the gallery while training runs.
          reopened = (async () => {
            a.gallery.galleryPanel?.dispose();
            await openReadyGallery();
          })();
        }
      });
      const run = vscode.commands.executeCommand<TrainResult>(
        'fastStyleTransfer.train',
        trainArgs('Gallery Starry', { iterations: 100_000 }),
      );
      const live = await next(
        'training',
        0,
        180_000,
        (m) => m.training?.status === 'running' && m.training.iteration >= 1,
      );
      assert.equal(live.training?.name, 'Gallery Starry');
      assert.ok(live.training!.totalIterations === 100_000);
      await until(() => reopened !== undefined, 180_000, 'training to reach iteration 4 with a preview');
      await reopened;
      watch.dispose();
      const init = [...seen].reverse().find((m): m is Extract<Posted, { type: 'init' }> => m.type === 'init')!;
      assert.ok(init.training, 'the reopened panel got the run in its init message');
      assert.equal(init.training.status, 'running');
      assert.ok(init.training.iteration >= 4, `iteration ${init.training.iteration}`);
      assert.ok(init.training.losses.length >= 4, 'the loss history so far');
      for (const l of init.training.losses)
        for (const k of ['total', 'content', 'style', 'tv'] as const)
          assert.ok(Number.isFinite(l[k]) && l[k] >= 0, `${k} loss ${l[k]}`);
      const initIndex = seen.lastIndexOf(init);
      const preview = await next('trainingPreview', initIndex, 5_000);
      assert.deepEqual([...preview.image.bytes.subarray(0, 4)].length, 4);
      assert.ok(preview.image.bytes.byteLength > 50, 'the latest preview image was re-sent to the new webview');

      await a.gallery.receive({ type: 'pauseTraining' });
      const r = await run;
      assert.ok(r?.cancelled, 'training stopped');
      const stopped = await next(
        'training',
        initIndex,
        10_000,
        (m) => m.training?.status === 'cancelled' && m.training.resumable,
      );
      assert.equal(stopped.training!.checkpoint, r.checkpoint);
      assert.equal(stopped.training!.iteration, r.iterations);
      assert.ok(fs.existsSync(path.join(r.checkpoint, 'training-state.json')), 'the checkpoint can be resumed');
      const styles = await next('styles', initIndex, 10_000, (m) =>
        m.styles.some((s) => s.id === r.checkpoint && s.resumable && !s.training),
      );
      assert.ok(styles);
    } finally {
      sub.dispose();
    }
  });
});
