// A clip in the Style Gallery end to end (issue 16): a 1-second clip made here with ffmpeg
// (testsrc) is picked from the workspace, the frame picker appears, moving it with the keyboard
// previews another stylized frame, Stylize Clip writes the clip beside the original with
// progress, and the gallery's <video> plays the WebM preview (it has decoded frames).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pixelHash } from '../helpers.mjs';

export const description = 'Style Gallery: pick a clip → frame picker → another frame → Stylize Clip → it plays';
export const timeoutMs = 300_000;

/** Polls `fn` until it returns something truthy (or throws after `timeout` ms). */
async function eventually(fn, what, timeout = 60_000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function run({ page, workspace, log, screenshot, runCommand, pickQuickItem, frameOf, waitForFile }) {
  const clip = path.join(workspace, 'pattern.mp4');
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=96x64:rate=10:duration=1'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip],
  ]);

  await runCommand('Fast Style Transfer: Open Style Gallery', {
    expect: page.locator('.tabs-container .tab', { hasText: 'Style Gallery' }),
  });
  const gallery = await frameOf({ title: 'Style Gallery' });
  await gallery.locator('.card').first().waitFor({ timeout: 60_000 });
  await gallery.locator('#pick-workspace').click();
  await pickQuickItem('pattern.mp4');
  await gallery.locator('.image-name', { hasText: 'pattern.mp4' }).waitFor();

  // The frame picker: 10 frames, the first shown, its stylized preview at the clip's size.
  const picker = gallery.locator('#frame-picker');
  await picker.waitFor({ state: 'visible', timeout: 60_000 });
  const time = gallery.locator('#frame-time');
  await time.filter({ hasText: 'frame 1 of 10' }).waitFor();
  const preview = gallery.locator('#preview-img');
  const first = await eventually(async () => {
    const h = await pixelHash(preview);
    return h.startsWith('96x64:') ? h : undefined;
  }, 'the first frame stylized');
  await screenshot('gallery-clip-frame1');

  // Move the picker six frames on: another frame is stylized.
  await picker.focus();
  for (let i = 0; i < 6; i++) await picker.press('ArrowRight');
  await time.filter({ hasText: 'frame 7 of 10' }).waitFor();
  log(`frame picker: ${await time.textContent()}`);
  const moved = await eventually(async () => {
    const h = await pixelHash(preview);
    return h.startsWith('96x64:') && h !== first ? h : undefined;
  }, 'frame 7 stylized');
  assert.notEqual(moved, first);
  await screenshot('gallery-clip-frame7');

  // Save is for still images; a clip has Stylize Clip.
  assert.equal(await gallery.locator('#save').isVisible(), false, 'no Save for a clip');
  await gallery.locator('#stylize-clip').click();
  await gallery.locator('#clip-progress-text', { hasText: /Frame \d+ of 10/ }).waitFor({ timeout: 60_000 });
  const saved = await gallery.locator('#clip-saved .saved-path').textContent({ timeout: 180_000 });
  const out = await waitForFile(saved.trim(), { timeout: 30_000 });
  assert.match(path.basename(out), /^pattern\..+\.mp4$/);
  log(`stylized clip: ${path.relative(workspace, out)} (${fs.statSync(out).size} bytes)`);

  // The result plays: a <video> that has decoded frames (readyState ≥ 2) of the WebM preview.
  const video = gallery.locator('#clip-player video');
  await video.waitFor({ timeout: 60_000 });
  const state = await eventually(
    () =>
      video.evaluate((v) =>
        v.readyState >= 2 ? { w: v.videoWidth, h: v.videoHeight, d: v.duration, src: v.currentSrc } : undefined,
      ),
    'the <video> to decode the stylized clip',
  );
  log(`playing ${state.w}×${state.h}, ${state.d.toFixed(2)} s from ${state.src.slice(0, 60)}…`);
  assert.deepEqual([state.w, state.h], [96, 64]);
  assert.match(state.src, /\.webm$/);
  await screenshot('gallery-clip-playing');
}
