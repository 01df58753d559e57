// The Style Gallery end to end: open it from the palette, choose a fixture image from the
// workspace, pick the style, see the stylized preview <img> load inside the webview, move the
// strength slider and the before/after divider, save (the file appears, the original stays),
// drop a second image onto the preview as a file from the operating system would arrive, and
// blend the bundled Starry Night into udnie (choose it, move its share, save the blend).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pixelHash } from '../helpers.mjs';

export const description =
  'Style Gallery: pick image → pick style → preview → strength → save; drop an image; blend two styles';
export const timeoutMs = 300_000;

const EXTENSION_ID = 'fast-style-transfer.fast-style-transfer';

/**
 * The extension's global storage in this run's code-server profile (the runner puts the
 * profile beside the workspace copy as user-data/). A public ml5 network is imported there
 * before the gallery opens, as Import Style… would.
 */
function installStyle(repoRoot, workspace, name = 'udnie') {
  const userData = path.join(path.dirname(workspace), 'user-data');
  assert.ok(fs.existsSync(userData), `expected the code-server profile at ${userData}`);
  const styles = path.join(userData, 'User', 'globalStorage', EXTENSION_ID, 'styles');
  fs.mkdirSync(styles, { recursive: true });
  const target = path.join(styles, name);
  if (!fs.existsSync(target)) {
    const source = path.resolve(repoRoot, '..', 'shared', 'data', 'pretrained', name);
    assert.ok(fs.existsSync(source), `the ${name} network is missing at ${source}`);
    execFileSync(
      process.execPath,
      [path.join(repoRoot, 'bin', 'fst.js'), 'import', source, '-o', target, '--name', name],
      { stdio: 'pipe' },
    );
  }
  return target;
}

const sha = (f) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** Waits until the <img> has loaded a non-empty picture; returns its natural size. */
/**
 * The preview's size once it is `w`×`h` (or, after `timeout`, whatever it is then): a new image
 * is named and the busy mark cleared a moment before its preview job has even started, so the
 * previous image's preview may still be shown.
 */
async function sizeOnceItIs(img, w, h, timeout = 60_000) {
  const until = Date.now() + timeout;
  for (;;) {
    const size = await loadedSize(img).catch(() => ({ w: 0, h: 0 }));
    if ((size.w === w && size.h === h) || Date.now() > until) return size;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function loadedSize(img) {
  await img.waitFor({ state: 'attached' });
  return img.evaluate(
    (el) =>
      new Promise((resolve, reject) => {
        const done = () =>
          el.naturalWidth > 0
            ? resolve({ w: el.naturalWidth, h: el.naturalHeight, src: el.src.slice(0, 5) })
            : reject(new Error('image has no pixels'));
        if (el.complete && el.naturalWidth > 0) done();
        else {
          el.addEventListener('load', done, { once: true });
          el.addEventListener('error', () => reject(new Error('image failed to load')), { once: true });
        }
      }),
  );
}

export async function run({
  page,
  workspace,
  repoRoot,
  log,
  screenshot,
  runCommand,
  pickQuickItem,
  frameOf,
  waitForFile,
}) {
  installStyle(repoRoot, workspace);
  // A second public network of udnie's shape (but its own convolutions), for the blend modes.
  installStyle(repoRoot, workspace, 'mathura');
  const coffee = path.join(workspace, 'photos', 'coffee.jpg');
  const before = sha(coffee);

  await runCommand('Fast Style Transfer: Open Style Gallery', {
    expect: page.locator('.tabs-container .tab', { hasText: 'Style Gallery' }),
  });
  let gallery = await frameOf({ title: 'Style Gallery' });
  // The imported udnie, not the bundled Udnie (attribute values match case-sensitively).
  const card = gallery.locator('.card[aria-label^="udnie, "]');
  await card.waitFor({ timeout: 60_000 });
  await gallery.locator('#dropzone').waitFor();
  // Let the card's sample image arrive (stylized on the host in the background).
  await gallery
    .locator('.card .card-sample')
    .first()
    .waitFor({ timeout: 60_000 })
    .catch(() => log('no card sample image yet'));
  await screenshot('gallery-empty');

  // Search: no match shows an empty state whose button clears the filter.
  await gallery.locator('#search input').fill('no-such-style');
  await gallery.locator('.empty h3', { hasText: 'No matching styles' }).waitFor();
  assert.equal(await card.count(), 0);
  await gallery.locator('.empty vscode-button', { hasText: 'Clear Filters' }).click();
  await card.waitFor();

  // Select a fixture image from the workspace (a quick pick in the workbench).
  await gallery.locator('#pick-workspace').click();
  await pickQuickItem('coffee.jpg');
  await gallery.locator('.image-name', { hasText: 'coffee.jpg' }).waitFor();

  // Pick the style: click, then also by keyboard (Enter on the focused card).
  await card.click();
  await card.press('Enter');
  assert.equal(await card.getAttribute('aria-checked'), 'true', 'the udnie card is selected');

  const preview = gallery.locator('#preview-img');
  const size = await loadedSize(preview);
  log(`preview <img> loaded: ${size.w}×${size.h} from ${size.src}…`);
  assert.deepEqual([size.w, size.h], [96, 64], "the preview has the fixture image's size");
  assert.equal(size.src, 'blob:', 'the preview arrived as bytes (blob URL), not as a file URL');
  const original = await loadedSize(gallery.locator('.compare-before'));
  assert.deepEqual([original.w, original.h], [96, 64]);

  // Strength: 100% → 60% with the keyboard; the composite repaints in the page.
  const strength = gallery.locator('#strength');
  await strength.focus();
  for (let i = 0; i < 40; i++) await strength.press('ArrowLeft');
  await gallery.locator('output.value', { hasText: '60%' }).waitFor();
  await gallery.locator('body[data-strength="0.6"]').waitFor({ timeout: 10_000 });
  const compositeMs = await gallery.locator('body').getAttribute('data-composite-ms');
  log(`strength 60%: composited and shown in ${compositeMs} ms`);
  const blended = await loadedSize(preview);
  assert.deepEqual([blended.w, blended.h], [96, 64]);

  // The before/after divider is a keyboard slider too.
  const handle = gallery.locator('.compare-handle');
  await handle.focus();
  for (let i = 0; i < 5; i++) await handle.press('Shift+ArrowLeft');
  assert.equal(await handle.getAttribute('aria-valuenow'), '0');
  for (let i = 0; i < 4; i++) await handle.press('Shift+ArrowRight');
  assert.equal(await handle.getAttribute('aria-valuenow'), '40');
  await screenshot('gallery');

  // Save: the full-size stylize job writes photos/coffee.udnie.jpg, never touching the original.
  await gallery.locator('#save').click();
  const out = await waitForFile('photos/coffee.udnie.jpg', { timeout: 120_000 });
  await gallery.locator('#saved', { hasText: 'coffee.udnie.jpg' }).waitFor({ timeout: 30_000 });
  assert.ok(fs.statSync(out).size > 500, 'a real JPEG was written');
  assert.equal(sha(coffee), before, 'the original is untouched');
  log(`saved ${path.relative(workspace, out)} (${fs.statSync(out).size} bytes)`);
  assert.equal(await gallery.locator('#copy-path').getAttribute('disabled'), null, 'Copy Path is enabled after saving');
  await screenshot('gallery-saved');

  // Full size on demand: the whole image at the output scale (here 96×64, so the same size).
  await gallery.locator('#full-size').click();
  await gallery.locator('#status', { hasText: /^Full size 96 × 64/ }).waitFor({ timeout: 60_000 });
  await gallery.locator('#full-size').click();
  await gallery.locator('#status', { hasText: /^Preview 96 × 64/ }).waitFor({ timeout: 60_000 });

  // Save As… with VS Code's own save dialog (a path input in the browser): WebP from the name.
  await gallery.locator('#save-as').click();
  const pathInput = page.locator('.quick-input-widget input.input');
  await pathInput.waitFor({ timeout: 30_000 });
  let proposed = '';
  for (let i = 0; i < 100 && !proposed.endsWith('.jpg'); i++) {
    proposed = await pathInput.inputValue();
    await page.waitForTimeout(100);
  }
  log(`Save As proposes ${proposed}`);
  assert.ok(
    proposed.endsWith(`${path.sep}photos${path.sep}coffee.udnie-2.jpg`),
    'the dialog proposes the next free name.<style>-N.ext',
  );
  await pathInput.fill(path.join(workspace, 'photos', 'coffee-saved-as.webp'));
  await pathInput.press('Enter');
  const savedAs = await waitForFile('photos/coffee-saved-as.webp', { timeout: 120_000 });
  assert.equal(
    fs.readFileSync(savedAs).subarray(8, 12).toString('latin1'),
    'WEBP',
    'the format follows the chosen extension',
  );
  await gallery.locator('#saved', { hasText: 'coffee-saved-as.webp' }).waitFor({ timeout: 30_000 });

  // Drop an image file from "the operating system": bytes cross to the host as a Uint8Array.
  const bytes = [...fs.readFileSync(path.join(workspace, 'gradient.png'))];
  await gallery.locator('#stage').evaluate((stage, data) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(data)], 'dropped-gradient.png', { type: 'image/png' }));
    for (const type of ['dragenter', 'dragover', 'drop'])
      stage.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, bytes);
  // The webview tells the workbench a file drag started (it then blocks the webview's pointer
  // events so drops can reach the editor area) and waits for the drag to end in the window.
  await page.evaluate(() => {
    for (const type of ['drop', 'dragend']) window.dispatchEvent(new DragEvent(type, { bubbles: true }));
  });
  await gallery.locator('.image-name', { hasText: 'dropped-gradient.png' }).waitFor({ timeout: 30_000 });
  await gallery.locator('body[data-strength="0.6"]').waitFor();
  await page.waitForTimeout(300);
  const dropped = await loadedSize(preview);
  await gallery.locator('.compare:not(.is-busy)').waitFor({ timeout: 60_000 });
  const droppedNow = await sizeOnceItIs(preview, 66, 50);
  log(`dropped image preview: ${droppedNow.w}×${droppedNow.h} (first seen ${dropped.w}×${dropped.h})`);
  assert.deepEqual([droppedNow.w, droppedNow.h], [66, 50], 'the dropped gradient.png is previewed at its size');
  await screenshot('gallery-dropped');

  // The showcase: the bundled sample photo (600×400), photo colours kept, divider in the middle.
  await gallery.locator('#sample-photo').click();
  await gallery.locator('.image-name', { hasText: 'coffee.png' }).waitFor({ timeout: 30_000 });
  await gallery.locator('.compare:not(.is-busy)').waitFor({ timeout: 60_000 });
  const sample = await sizeOnceItIs(preview, 512, 341);
  assert.deepEqual([sample.w, sample.h], [512, 341], 'the fast preview is downscaled to 512 px');
  const colors = gallery.locator('#colors');
  await colors.click();
  await colors.getByRole('option', { name: 'Keep original' }).click();
  await gallery.locator('body[data-color-mode="luminance"]').waitFor({ timeout: 10_000 });
  await gallery.locator('body[data-strength="0.6"]').waitFor();
  await handle.focus();
  for (let i = 0; i < 5; i++) await handle.press('ArrowRight');
  await page.waitForTimeout(400);
  await screenshot('gallery-showcase');

  // Blend: mix the bundled Starry Night into udnie. "Mix with" offers the other usable styles.
  await gallery.locator('body[data-preview-of="udnie"]').waitFor({ timeout: 10_000 });
  const alone = await pixelHash(preview);
  const mixWith = gallery.locator('#blend-style-0');
  assert.equal(await mixWith.getAttribute('aria-label'), 'Mix with');
  await mixWith.click();
  await mixWith.getByRole('option', { name: 'Starry Night' }).click();
  // The new row: Starry Night at 50 %, and the preview job runs again (progress ring, then the blend).
  const share = gallery.locator('#blend-share-0');
  await share.waitFor();
  assert.equal(await share.inputValue(), '50');
  assert.equal(await share.getAttribute('aria-label'), 'Share of Starry Night');
  await gallery.locator('body[data-preview-of="udnie 50% + Starry Night 50%"]').waitFor({ timeout: 60_000 });
  const half = await pixelHash(preview);
  assert.notEqual(half, alone, 'the blend changed the preview');
  // Move the share with the keyboard to 30 %: one debounced job for the last value.
  await share.focus();
  for (let i = 0; i < 20; i++) await share.press('ArrowLeft');
  await gallery.locator('#blend-summary', { hasText: 'udnie 70% · Starry Night 30%' }).waitFor();
  await gallery.locator('body[data-preview-of="udnie 70% + Starry Night 30%"]').waitFor({ timeout: 60_000 });
  await gallery.locator('.compare:not(.is-busy)').waitFor({ timeout: 60_000 });
  const seventy = await pixelHash(preview);
  assert.ok(seventy !== half && seventy !== alone, 'another share, another preview');
  assert.equal(
    await gallery.locator('.card.mixed .card-mix').textContent(),
    '30%',
    "the mixed-in style's card shows its share",
  );
  // Styles of different network shapes cannot mix norm parameters: the mode toggle stays hidden.
  assert.ok(await gallery.locator('#blend-mode').isHidden(), 'no norm mode for udnie + Starry Night');
  // Keyboard: Tab goes from the share slider to the remove button.
  await share.press('Tab');
  assert.equal(await gallery.locator(':focus').getAttribute('id'), 'blend-remove-0');
  await page.waitForTimeout(300);
  await screenshot('gallery-blend');
  // Save writes the blend under the engine's blend name, beside the sample (in the workspace).
  await gallery.locator('#save').click();
  const blendOut = await waitForFile('coffee.udnie-70+Starry-Night-30.png', { timeout: 120_000 });
  await gallery.locator('#saved', { hasText: 'coffee.udnie-70+Starry-Night-30.png' }).waitFor({ timeout: 30_000 });
  log(`saved the blend: ${path.relative(workspace, blendOut)} (${fs.statSync(blendOut).size} bytes)`);
  // Save As… proposes the next free blend name; cancelling writes nothing.
  await gallery.locator('#save-as').click();
  await pathInput.waitFor({ timeout: 30_000 });
  let blendProposal = '';
  for (let i = 0; i < 100 && !blendProposal.endsWith('.png'); i++) {
    blendProposal = await pathInput.inputValue();
    await page.waitForTimeout(100);
  }
  assert.ok(
    blendProposal.endsWith(`${path.sep}coffee.udnie-70+Starry-Night-30-2.png`),
    `Save As proposes ${blendProposal}`,
  );
  await pathInput.press('Escape');
  await gallery.locator('#status', { hasText: 'Save cancelled.' }).waitFor({ timeout: 10_000 });

  // Add style: a third style takes half of what udnie keeps; keyboard focus moves to its row,
  // whose style can be changed (after gallery-training, its trained style is offered first).
  await gallery.locator('#blend-add').click();
  const third = gallery.locator('#blend-style-1');
  await gallery.locator('#blend-style-1:focus').waitFor({ timeout: 5_000 });
  assert.equal(await gallery.locator('#blend-share-1').inputValue(), '35');
  await third.click();
  await third.getByRole('option', { name: 'mathura' }).click();
  await gallery.locator('#blend-summary', { hasText: 'udnie 35% · Starry Night 30% · mathura 35%' }).waitFor();
  await gallery
    .locator('body[data-preview-of="udnie 35% + Starry Night 30% + mathura 35%"]')
    .waitFor({ timeout: 90_000 });
  await gallery.locator('.compare:not(.is-busy)').waitFor({ timeout: 60_000 });
  await page.waitForTimeout(300);
  await screenshot('gallery-blend-three');
  // Without Starry Night, udnie and mathura have one network shape: the mode toggle appears.
  await gallery.locator('#blend-remove-0').click();
  await gallery.locator('#blend-summary', { hasText: 'udnie 65% · mathura 35%' }).waitFor();
  await gallery.locator('#blend-mode').waitFor({ state: 'visible' });
  await gallery.locator('body[data-preview-of="udnie 65% + mathura 35%"]').waitFor({ timeout: 60_000 });
  // Their convolutions differ (trained separately), so mixing norm parameters fails with the engine's own reason.
  await gallery.locator('#blend-mode-norm').click();
  const refusal = gallery.locator('.stage-message', { hasText: 'do not share their convolution weights' });
  await refusal.waitFor({ timeout: 60_000 });
  log(`norm mode refused: ${(await refusal.textContent()).trim()}`);
  await page.waitForTimeout(300);
  await screenshot('gallery-blend-norm-refused');
  await gallery.locator('#blend-mode-outputs').click();
  await refusal.waitFor({ state: 'hidden', timeout: 10_000 });

  // Hidden and shown again: the rebuilt webview restores the blend from its saved state.
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'gradient.png' }).first().dblclick();
  await page.locator('.tabs-container .tab', { hasText: 'gradient.png' }).waitFor();
  gallery = await frameOf({ title: 'Style Gallery' });
  await gallery.locator('#blend-summary', { hasText: 'udnie 65% · mathura 35%' }).waitFor({ timeout: 30_000 });
  assert.equal(await gallery.locator('#blend-share-0').inputValue(), '35');
  assert.equal(
    await gallery.locator('#blend-mode-outputs').evaluate((r) => r.checked),
    true,
    'the mode is restored too',
  );
  await gallery.locator('body[data-preview-of="udnie 65% + mathura 35%"]').waitFor({ timeout: 60_000 });
  assert.equal(await gallery.locator('.card.mixed .card-mix').textContent(), '35%');
  await page.locator('.tabs-container .tab', { hasText: 'gradient.png' }).locator('.codicon-close').click();
  await page.locator('.tabs-container .tab', { hasText: 'gradient.png' }).waitFor({ state: 'detached' });

  // Theme-aware: the same page in the Dark Modern theme.
  await runCommand('Preferences: Color Theme', {
    expect: page.locator('.quick-input-list .monaco-list-row', { hasText: 'Dark Modern' }).first(),
  });
  await pickQuickItem('Dark Modern');
  await page.waitForTimeout(800);
  await screenshot('gallery-dark');
  assert.equal(
    await gallery.locator('body').getAttribute('data-csp-violations'),
    '0',
    'nothing was blocked by the Content Security Policy',
  );

  // The compact view in the Style Transfer sidebar: same bundle, its own layout and state.
  await page.locator('.tabs-container .tab', { hasText: 'Style Gallery' }).locator('.codicon-close').click();
  await runCommand(/Focus on Preview View/, {
    expect: page.locator('.part.sidebar .pane-header[aria-expanded="true"]', { hasText: 'Preview' }),
  });
  // Give the Preview view the sidebar's height: collapse the Styles tree above it.
  const stylesHeader = page.locator('.pane-header', { hasText: /^\s*Styles/i }).first();
  if ((await stylesHeader.getAttribute('aria-expanded')) === 'true') await stylesHeader.click();
  const side = await frameOf();
  await side.locator('#style-select').waitFor({ timeout: 30_000 });
  await side.locator('#sample-photo').click();
  await side.locator('.compare:not(.is-busy) #preview-img[data-loaded="true"]').waitFor({ timeout: 60_000 });
  await page.waitForTimeout(300);
  await screenshot('sidebar');
}
