// Set Up Video Support… and the ffmpeg lookup order (issue 16): a given path, then the PATH
// (version checked), then the copy installed into the extension's storage. The install test
// really runs npm against the registry (about 20 s here) and stylizes a clip with what it got.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { findFfmpeg, installedFfmpegPaths, probeVideo } from '../../src/io/ffmpeg';
import { checkReachable } from '../../src/engine/gpuSetup';
import { runVideoSetup } from '../../src/engine/video/ffmpegSetup';
import { stylizeVideoFile } from '../../src/engine/video/videoJob';
import { createStylizeEngine } from '../../src/engine/stylize/engines';
import { loadStyle } from '../../src/engine/styles';
import { StyleTransferError } from '../../src/protocol/errors';
import { makeClip } from '../helpers/clips';
import { REPO_ROOT, tempDir } from '../helpers/paths';

const root = tempDir('fst-video-setup-');
const posix = process.platform !== 'win32';

/** A stand-in ffmpeg and ffprobe that print `version` (POSIX shell scripts: test fixtures only). */
function fakeTools(ffmpeg: string, ffprobe: string, version: string): void {
  for (const f of [ffmpeg, ffprobe]) {
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(
      f,
      `#!/bin/sh\necho "${path.basename(f)} version ${version} Copyright (c) the FFmpeg developers"\n`,
      { mode: 0o755 },
    );
  }
}

test(
  'ffmpeg lookup: a given path, then the PATH (version checked), then the installed copy',
  { skip: !posix && 'POSIX shell stand-ins' },
  async () => {
    const storage = path.join(root, 'storage');
    const inst = installedFfmpegPaths(storage);
    const onPath = (dir: string, version: string) => {
      fakeTools(path.join(dir, 'ffmpeg'), path.join(dir, 'ffprobe'), version);
      return dir;
    };
    const good = onPath(path.join(root, 'good'), '6.1.1');
    const old = onPath(path.join(root, 'old'), '3.4.8');
    const chosen = onPath(path.join(root, 'chosen'), '7.0');
    const empty = path.join(root, 'empty');
    fs.mkdirSync(empty);
    // Nothing anywhere: one line that names the setup command.
    await assert.rejects(
      findFfmpeg({ env: { PATH: empty }, storageDir: storage }),
      (e: unknown) =>
        e instanceof StyleTransferError && e.code === 'not-found' && /Set Up Video Support/.test(e.message),
    );
    fakeTools(inst.ffmpeg, inst.ffprobe, 'N-47683-g0e8eb07980-static');
    assert.equal(
      (await findFfmpeg({ env: { PATH: good }, storageDir: storage })).ffmpeg,
      path.join(good, 'ffmpeg'),
      'the PATH before the installed copy',
    );
    assert.equal(
      (await findFfmpeg({ env: { PATH: old }, storageDir: storage })).ffmpeg,
      inst.ffmpeg,
      'a too old PATH ffmpeg gives way to the installed copy',
    );
    assert.equal((await findFfmpeg({ env: { PATH: empty }, storageDir: storage })).ffmpeg, inst.ffmpeg);
    assert.equal(
      (await findFfmpeg({ env: { PATH: good }, storageDir: storage, ffmpegPath: path.join(chosen, 'ffmpeg') })).ffmpeg,
      path.join(chosen, 'ffmpeg'),
      'the given path first',
    );
    // A given path is never passed over, even when it is too old.
    await assert.rejects(
      findFfmpeg({ env: { PATH: good }, storageDir: storage, ffmpegPath: path.join(old, 'ffmpeg') }),
      /3\.4\.8 is too old/,
    );
    // Without the storage folder, a too old PATH ffmpeg is the error.
    await assert.rejects(findFfmpeg({ env: { PATH: old } }), /3\.4\.8 is too old/);
    // Numbered versions choose the frame option from the version: -fps_mode from 5.1.
    assert.equal((await findFfmpeg({ env: { PATH: good } })).frameSync, '-fps_mode');
    assert.equal(
      (await findFfmpeg({ ffmpegPath: path.join(onPath(path.join(root, 'v44'), '4.4.2'), 'ffmpeg') })).frameSync,
      '-vsync',
    );
  },
);

test(
  'Set Up Video Support installs ffmpeg and ffprobe from the npm registry, and a clip keeps its frames and duration with them',
  { skip: !posix && 'POSIX', timeout: 300_000 },
  async (t) => {
    const why = await checkReachable('https://registry.npmjs.org/');
    if (why) {
      if (process.env.CI) throw new Error(`the npm registry is not reachable: ${why}`);
      t.skip(`the npm registry is not reachable: ${why}`);
      return;
    }
    const storage = path.join(root, 'installed');
    const phases: string[] = [];
    const t0 = Date.now();
    const { tools } = await runVideoSetup(
      { storageDir: storage, node: process.execPath },
      { progress: (m) => phases.push(m) },
    );
    t.diagnostic(
      `installed ffmpeg ${tools.version} in ${((Date.now() - t0) / 1000).toFixed(1)} s (frames: ${tools.frameSync})`,
    );
    assert.equal(tools.ffmpeg, installedFfmpegPaths(storage).ffmpeg);
    assert.ok(
      phases.some((p) => p.includes('@ffmpeg-installer/ffmpeg@1.1.0')),
      phases.join(' | '),
    );
    // Found with nothing on the PATH.
    assert.equal(
      (await findFfmpeg({ env: { PATH: path.join(root, 'nothing') }, storageDir: storage })).ffmpeg,
      tools.ffmpeg,
    );
    // A clip made and stylized with the installed copy only.
    const dir = path.join(root, 'clip');
    fs.mkdirSync(dir);
    const clip = makeClip(tools, path.join(dir, 'c.mp4'), { width: 48, height: 32, fps: 8, seconds: 1, audio: true });
    const engine = await createStylizeEngine({ cacheDir: path.join(root, 'cache') });
    try {
      const r = await stylizeVideoFile(
        engine,
        await loadStyle(path.join(REPO_ROOT, 'styles', 'starry-night')),
        clip,
        {},
        { tools },
      );
      const [a, b] = [await probeVideo(tools, clip), await probeVideo(tools, r.output)];
      assert.deepEqual([b.frameCount, b.width, b.height, b.hasAudio], [a.frameCount, 48, 32, true]);
      assert.ok(Math.abs(a.duration - b.duration) < 0.1, `${a.duration} vs ${b.duration}`);
    } finally {
      engine.dispose();
    }
  },
);
