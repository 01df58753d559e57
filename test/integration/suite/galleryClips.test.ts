// Clips in the gallery, in the real extension host with its webview in the workbench's Chromium
// (issue 16): a 1-second clip made here with ffmpeg (testsrc) opens with a frame picker, the
// webview's own picker asks for a frame, a moved picker gets another stylized frame, Stylize
// Clip writes the MP4 beside the clip with progress in frames, and the webview's <video> plays
// the WebM preview (it reports 'playing' back). Cancel leaves no file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { findFfmpeg } from '../../../src/io/ffmpeg';
import { makeClip } from '../../helpers/clips';
import type { WebviewToHost } from '../../../src/protocol/gallery';
import { previewMessage } from '../../helpers/galleryMessages';
import { openReadyGallery, recorder, until, workspaceDir } from './helpers';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];

function pngSize(b: Uint8Array): { w: number; h: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { w: v.getUint32(16), h: v.getUint32(20) };
}

/** A silent clip of ffmpeg's test pattern (a counter and a moving ramp: every frame differs). */
async function patternClip(file: string, seconds: number, fps: number, width = 64, height = 48): Promise<string> {
  return makeClip(await findFfmpeg(), file, { width, height, fps, seconds, audio: false });
}

function frameCount(file: string): number {
  const r = spawnSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-count_packets',
      '-show_entries',
      'stream=nb_read_packets',
      '-of',
      'csv=p=0',
      file,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

suite('gallery clips', () => {
  suiteSetup(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('a clip: frame picker, a stylized frame at a time, Stylize Clip with progress, and the result plays in the webview', async function () {
    this.timeout(300_000);
    const { a, seen, sub, next } = await recorder();
    // What the webview itself asks for (its preview requests), beside what the host posts.
    const asked: WebviewToHost[] = [];
    const askedSub = a.gallery.onDidReceive((m) => asked.push(m));
    try {
      await openReadyGallery();
      await a.store.refresh();
      const style = a.store.all.find((s) => s.origin === 'bundled' && !s.error);
      assert.ok(style, 'a bundled style');
      const dir = path.join(workspaceDir(), 'clips');
      fs.mkdirSync(dir, { recursive: true });
      const clip = await patternClip(path.join(dir, 'pattern.mp4'), 1, 10);
      const from = seen.length;
      await a.gallery.receive({ type: 'openImagePath', path: clip });
      const image = (await next('image', from, 5_000)).image;
      assert.equal(image.name, 'pattern.mp4');
      const info = await next('clip', from, 60_000, (m) => m.imageToken === image.token);
      assert.ok(info.clip, `a clip, not: ${info.unavailable}`);
      assert.deepEqual(
        [info.clip.kind, info.clip.frameCount, info.clip.width, info.clip.height],
        ['video', 10, 64, 48],
      );
      assert.ok(Math.abs(info.clip.duration - 1) < 0.05, `duration ${info.clip.duration}`);

      // The webview's frame picker asks for its frame (the middle of the first) by itself.
      const own = await next(
        'preview',
        from,
        120_000,
        (m) => m.imageToken === image.token && m.time !== undefined && m.requestId < 9000,
      );
      assert.ok(Math.abs((own.time ?? -1) - 0.05) < 1e-9, `the picker's time ${own.time}`);
      // It waited for the host's word (clipPending): it asked for no frame-0 preview before.
      assert.equal(image.clipPending, true);
      const asks = asked.filter((m) => m.type === 'preview' && m.imageToken === image.token);
      assert.deepEqual(
        asks.map((m) => m.type === 'preview' && m.time),
        [own.time],
        "the webview asks for the clip's preview once, at its frame picker's frame",
      );
      // The same frame and the next as the picker sends them, with a style of this test's choice.
      const previewAt = async (requestId: number, time: number) => {
        await a.gallery.receive(previewMessage(image.token, style.id, { requestId, time }));
        return next('preview', from, 120_000, (m) => m.requestId === requestId);
      };
      const first = await previewAt(9001, 0.05);
      assert.equal(first.time, 0.05);
      for (const img of [first.original, first.stylized]) {
        assert.deepEqual([...img.bytes.subarray(0, 4)], PNG_SIGNATURE);
        assert.deepEqual(pngSize(img.bytes), { w: 64, h: 48 });
      }
      // The picker moved to the last frame: another frame, stylized with the same style.
      const last = await previewAt(9002, 0.95);
      assert.equal(last.time, 0.95);
      assert.notDeepEqual(last.original.bytes, first.original.bytes, 'another frame');
      assert.notDeepEqual(last.stylized.bytes, first.stylized.bytes, 'another stylized frame');
      assert.notDeepEqual(last.stylized.bytes, last.original.bytes, 'stylized');

      // Stylize Clip: the video job beside the clip, progress in frames, then the WebM plays.
      const before = a.gallery.lastPlayback;
      await a.gallery.receive({
        type: 'stylizeClip',
        imageToken: image.token,
        styleId: style.id,
        strength: 0.8,
        colorMode: 'none',
        scale: 1,
      });
      const done = await next('clipDone', from, 240_000, (m) => m.imageToken === image.token);
      const progress = seen.slice(from).filter((m) => m.type === 'clipProgress');
      assert.ok(progress.length > 0, 'progress in frames');
      const lastProgress = progress[progress.length - 1];
      assert.ok(lastProgress.type === 'clipProgress' && lastProgress.total === 10 && lastProgress.done === 10);
      assert.equal(done.path, path.join(dir, `pattern.${style.name.replace(/\s+/g, '-')}.mp4`));
      assert.equal(frameCount(done.path), 10, 'every frame');
      assert.equal(done.playback.kind, 'video', 'a WebM (Debian ffmpeg has libvpx)');
      if (done.playback.kind === 'video') {
        assert.match(done.playback.encoder, /^libvpx/);
        const webm = fs
          .readdirSync(path.join(a.context.storageDir, 'gallery', 'playback'))
          .filter((f) => f.endsWith('.webm'));
        assert.ok(webm.length >= 1, 'the WebM preview is in the storage folder');
        assert.doesNotMatch(done.playback.src, /^file:/, 'a webview URI');
      }
      // The webview's <video> loaded it (it says so through the 'playback' message).
      await until(
        () => a.gallery.lastPlayback !== before && a.gallery.lastPlayback?.state !== undefined,
        60_000,
        "the webview's player to report",
      );
      assert.equal(a.gallery.lastPlayback?.state, 'playing', a.gallery.lastPlayback?.detail);
      assert.match(a.gallery.lastPlayback?.detail ?? '', /WebM \(libvpx[^)]*\) 64×48/);
    } finally {
      sub.dispose();
      askedSub.dispose();
    }
  });

  test('Cancel while a clip is stylized leaves no file; a still image gets no frame picker', async function () {
    this.timeout(300_000);
    const { a, seen, sub, next } = await recorder();
    try {
      await openReadyGallery();
      const style = a.store.all.find((s) => s.origin === 'bundled' && !s.error)!;
      const dir = path.join(workspaceDir(), 'clips-cancel');
      fs.mkdirSync(dir, { recursive: true });
      // Large enough frames that the job is still running when Cancel arrives.
      const clip = await patternClip(path.join(dir, 'long.mp4'), 8, 24, 480, 360);
      const from = seen.length;
      await a.gallery.receive({ type: 'openImagePath', path: clip });
      const image = (await next('image', from, 5_000)).image;
      await next('clip', from, 60_000, (m) => m.imageToken === image.token && !!m.clip);
      // Cancel as soon as the first frame is written (from the host's own post, not a poll).
      const t0 = Date.now();
      const times: string[] = [];
      const cancelOnProgress = a.gallery.onDidPost((m) => {
        if (m.type !== 'clipProgress' && m.type !== 'clipDone' && m.type !== 'clipCancelled') return;
        times.push(`${m.type}${m.type === 'clipProgress' ? ` ${m.done}/${m.total}` : ''} at ${Date.now() - t0} ms`);
        if (m.type === 'clipProgress' && m.done >= 1 && times.length < 50)
          void a.gallery.receive({ type: 'cancelClip' });
      });
      try {
        await a.gallery.receive({
          type: 'stylizeClip',
          imageToken: image.token,
          styleId: style.id,
          strength: 1,
          colorMode: 'none',
          scale: 1,
        });
        await next('clipCancelled', from, 120_000).catch((e: Error) => {
          throw new Error(`${e.message}; seen: ${times.slice(0, 20).join(', ')}`);
        });
      } finally {
        cancelOnProgress.dispose();
      }
      assert.deepEqual(fs.readdirSync(dir), ['long.mp4'], 'no partial or temporary file');

      // A still PNG (a PNG may be an APNG): the host's answer says still (neither clip nor
      // unavailable), and the webview's own preview, without a time, follows it.
      const still = path.join(workspaceDir(), 'gradient.png');
      const from2 = seen.length;
      await a.gallery.receive({ type: 'openImagePath', path: still });
      const img2 = (await next('image', from2, 5_000)).image;
      assert.equal(img2.clipPending, true, 'its answer is awaited');
      const answer = await next('clip', from2, 60_000, (m) => m.imageToken === img2.token);
      assert.deepEqual([answer.clip, answer.unavailable], [undefined, undefined], 'a still image is not a clip');
      const stillPreview = await next('preview', from2, 120_000, (m) => m.imageToken === img2.token);
      assert.equal(stillPreview.time, undefined, 'a still image is previewed as it is');
      // A JPEG cannot be a clip: nothing is awaited and no answer comes.
      const from3 = seen.length;
      await a.gallery.receive({ type: 'openImagePath', path: path.join(workspaceDir(), 'photos', 'coffee.jpg') });
      const img3 = (await next('image', from3, 5_000)).image;
      assert.equal(img3.clipPending, undefined);
      await next('preview', from3, 120_000, (m) => m.imageToken === img3.token);
      assert.equal(
        seen.slice(from3).some((m) => m.type === 'clip' && m.imageToken === img3.token),
        false,
        'a JPEG gets no clip message',
      );
    } finally {
      sub.dispose();
    }
  });

  test('without a usable ffmpeg a clip gets one line with Set Up Video Support…, which then gives it its frame picker', async function () {
    this.timeout(120_000);
    const { a, seen, sub, next } = await recorder();
    const config = vscode.workspace.getConfiguration('fastStyleTransfer');
    const missing = path.join(workspaceDir(), 'no-such-ffmpeg');
    try {
      await openReadyGallery();
      const dir = path.join(workspaceDir(), 'clips-no-ffmpeg');
      fs.mkdirSync(dir, { recursive: true });
      const clip = await patternClip(path.join(dir, 'nothing.mp4'), 1, 5);
      await config.update('ffmpegPath', missing, vscode.ConfigurationTarget.Global);
      const from = seen.length;
      await a.gallery.receive({ type: 'openImagePath', path: clip });
      const image = (await next('image', from, 5_000)).image;
      const m = await next('clip', from, 60_000, (x) => x.imageToken === image.token);
      assert.equal(m.clip, undefined);
      assert.equal(m.unavailable, 'Videos need ffmpeg, and none was found.');
      assert.equal(m.setUpVideo, true);
      assert.ok(!m.unavailable.includes('\n'), 'one line');
      // Set Up Video Support… from the gallery finds the PATH's ffmpeg once the setting is gone:
      // the clip gets its frame picker.
      await config.update('ffmpegPath', undefined, vscode.ConfigurationTarget.Global);
      const from2 = seen.length;
      await a.gallery.receive({ type: 'runCommand', command: 'setUpVideo' });
      const again = await next('clip', from2, 60_000, (x) => x.imageToken === image.token);
      assert.equal(again.clip?.frameCount, 5);
    } finally {
      await config.update('ffmpegPath', undefined, vscode.ConfigurationTarget.Global);
      sub.dispose();
    }
  });
});
