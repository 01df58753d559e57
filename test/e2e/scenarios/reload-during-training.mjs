// VS Code reloaded while a style trains: the reload ends the extension host (and its engine
// worker) in the middle of a run. Afterwards the extension activates again, the last good
// checkpoint is whole (no temp folders next to it), the Styles view lists it, and Resume
// Training continues from it to the end.
//
// A tiny run is started through a keybinding that passes the training settings as command
// arguments (the palette cannot), so checkpoints arrive every two steps within seconds.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { waitForWorkbench } from '../helpers.mjs';

export const description =
  'reload the window mid-training: the checkpoint survives, is listed, and Resume Training finishes the run';
export const timeoutMs = 420_000;

const NAME = 'E2E Reload';
const ITERATIONS = 80;
const KEY = 'ctrl+alt+shift+f7';
const WORK_IN_PROGRESS = /(\.tmp$|\.writing-|\.partial$|\.previous$|\.old$)/;

function writeJson(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}

function readIteration(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'style.json'), 'utf8')).iteration;
  } catch {
    return undefined;
  }
}

async function until(cond, timeout, what) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A checkpoint folder is whole: every file there, weights the size the manifest says. */
function assertWhole(dir) {
  for (const f of ['style.json', 'model.json', 'weights.bin', 'training-state.json', 'optimizer.bin'])
    assert.ok(fs.existsSync(path.join(dir, f)), `${f} in ${dir}`);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const bytes = manifest.weightsManifest[0].weights.reduce(
    (n, w) => n + w.shape.reduce((a, b) => a * b, 1) * (w.quantization?.dtype === 'float16' ? 2 : 4),
    0,
  );
  assert.equal(fs.statSync(path.join(dir, 'weights.bin')).size, bytes, 'weights.bin is complete');
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'training-state.json'), 'utf8'));
  assert.equal(state.iteration, readIteration(dir), 'weights and optimizer state are from the same step');
}

export async function run({ page, workspace, repoRoot, log, screenshot, runCommand, pickQuickItem }) {
  const userDir = path.join(path.dirname(workspace), 'user-data', 'User');
  const stylesDir = path.join(userDir, 'globalStorage', 'fast-style-transfer.fast-style-transfer', 'styles');
  const checkpoint = path.join(stylesDir, 'E2E-Reload');
  writeJson(path.join(workspace, '.vscode', 'settings.json'), {
    'fastStyleTransfer.vggWeightsPath': path.resolve(repoRoot, '..', 'shared', 'data', 'vgg19-keras-block1-3'),
  });
  writeJson(path.join(userDir, 'keybindings.json'), [
    {
      key: KEY,
      command: 'fastStyleTransfer.train',
      args: {
        styleImage: path.join(workspace, 'styles', 'starry_night.jpg'),
        dataDir: path.join(workspace, 'photos'),
        preset: 'quick',
        name: NAME,
        overrides: {
          iterations: ITERATIONS,
          imageSize: 32,
          batchSize: 1,
          checkpointEvery: 2,
          previewEvery: 0,
          styleSize: 64,
          architecture: { type: 'johnson2016', filters: [8, 16, 16], residualBlocks: 1 },
        },
      },
    },
  ]);
  // A new keybindings.json is not always noticed by a running web workbench: reload once to read it.
  await runCommand('Developer: Reload Window');
  await waitForWorkbench(page);
  await page.waitForTimeout(2000);
  const originals = Object.fromEntries(
    ['styles/starry_night.jpg', 'photos/coffee.jpg', 'photos/astronaut.png'].map((f) => [
      f,
      fs.readFileSync(path.join(workspace, f)).toString('base64'),
    ]),
  );

  // Start the tiny run (the command may still be registering: retry the key until a checkpoint appears).
  await until(
    async () => {
      await page
        .locator('.explorer-folders-view .monaco-list-row')
        .first()
        .click()
        .catch(() => {});
      await page.keyboard.press('Control+Alt+Shift+F7');
      await page
        .locator('.notifications-toasts', { hasText: `Training “${NAME}”` })
        .waitFor({ timeout: 10_000 })
        .catch(() => {});
      return until(() => readIteration(checkpoint) >= 4, 40_000, 'the first checkpoints').catch(() => false);
    },
    150_000,
    'training to start from the keybinding',
  );
  const before = readIteration(checkpoint);
  log(`training reached a checkpoint at iteration ${before}; reloading the window`);
  await screenshot('training-before-reload');

  await runCommand('Developer: Reload Window');
  await waitForWorkbench(page);
  log('workbench reloaded');
  // The old extension host (and its worker) must be gone: the checkpoint stops changing.
  await page.waitForTimeout(3000);
  const afterReload = readIteration(checkpoint);
  await page.waitForTimeout(4000);
  assert.equal(readIteration(checkpoint), afterReload, 'no training continues after the reload');
  assert.ok(afterReload >= before && afterReload < ITERATIONS, `checkpoint at ${afterReload}`);
  assertWhole(checkpoint);
  log(`checkpoint whole at iteration ${afterReload}`);

  // The new extension host lists it.
  await runCommand('View: Show Style Transfer', {
    timeout: 60_000,
    expect: page.locator('.part.sidebar .monaco-list-row', { hasText: NAME }).first(),
  });
  await screenshot('styles-after-reload');

  // Resume Training continues it to the end.
  await runCommand('Fast Style Transfer: Resume Training', {
    expect: page.locator('.quick-input-list .monaco-list-row', { hasText: NAME }).first(),
  });
  await pickQuickItem(NAME);
  await until(() => readIteration(checkpoint) === ITERATIONS, 240_000, `the resumed run to reach ${ITERATIONS}`);
  assertWhole(checkpoint);
  await page.locator('.notifications-toasts', { hasText: `Style “${NAME}” is ready` }).waitFor({ timeout: 60_000 });
  await screenshot('resumed-to-the-end');
  const leftovers = fs.readdirSync(stylesDir).filter((n) => WORK_IN_PROGRESS.test(n));
  assert.deepEqual(leftovers, [], 'no temp folders beside the checkpoint');
  for (const [f, b64] of Object.entries(originals))
    assert.equal(fs.readFileSync(path.join(workspace, f)).toString('base64'), b64, `${f} unchanged`);
  log(`resumed from ${afterReload} to ${ITERATIONS}`);
}
