// Proves the runner with VS Code alone: the fixture workspace is in the Explorer, a folder
// expands, the command palette runs a built-in command, the Explorer context menu opens an
// image, and VS Code's image preview (a webview) shows it at its real size.
import assert from 'node:assert/strict';

export const description = 'fixture workspace, command palette and context menu (VS Code only)';
export const needsExtension = false;

export async function run({
  page,
  log,
  screenshot,
  explorerRow,
  revealInExplorer,
  contextMenu,
  runCommand,
  editorTabs,
  frameOf,
}) {
  await explorerRow('gradient.png').waitFor();
  const coffee = await revealInExplorer('photos/coffee.jpg');
  await coffee.waitFor();
  log('Explorer shows gradient.png and photos/coffee.jpg');

  // the palette: a built-in command that opens an editor
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input.input').fill('>New Untitled Text');
  await page.locator('.quick-input-list .monaco-list-row').first().waitFor();
  await screenshot('palette');
  await runCommand('File: New Untitled Text File', {
    expect: page.locator('.tabs-container .tab', { hasText: 'Untitled-1' }),
  });
  assert.ok((await editorTabs()).includes('Untitled-1'), 'the palette command opened no editor');
  await screenshot('untitled-editor');

  // the context menu: a built-in item of a file row
  const attempts = await contextMenu('gradient.png', 'Open to the Side');
  log(`context menu item clicked after ${attempts} right-click(s)`);
  // the webview helper: the built-in image preview is a webview showing the file
  const preview = await frameOf({ title: 'gradient.png' });
  const img = preview.locator('img');
  await img.waitFor();
  await page.waitForFunction(() => true); // let the preview lay out
  const size = await img.evaluate((el) =>
    el.complete
      ? { w: el.naturalWidth, h: el.naturalHeight }
      : new Promise((r) => {
          el.onload = () => r({ w: el.naturalWidth, h: el.naturalHeight });
        }),
  );
  assert.deepEqual(size, { w: 66, h: 50 }, 'the image preview shows gradient.png at its size');
  await screenshot('image-preview');
}
