// Reusable Playwright helpers for the VS Code workbench served by code-server 4.100.3
// (VS Code 1.100.3). Selectors verified against that version in headless Debian Chromium.
import fs from 'node:fs';
import path from 'node:path';

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const exactText = (s) => (s instanceof RegExp ? s : new RegExp(`^\\s*${escapeRegExp(s)}\\s*$`));

/** Waits until the workbench and, when a folder is open, the Explorer's first rows are shown. */
export async function waitForWorkbench(page, { folder = true, timeout = 90_000 } = {}) {
  await page.locator('.monaco-workbench').waitFor({ timeout });
  if (folder) await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout });
}

/** The Explorer row of a file or folder directly shown in the tree (matched by its exact name). */
export function explorerRow(page, name) {
  return page
    .locator('.explorer-folders-view .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exactText(name) }) })
    .first();
}

/**
 * Expands the folders of a workspace-relative path ('photos/coffee.jpg') one by one and returns
 * the row of its last segment.
 */
export async function revealInExplorer(page, relPath, { timeout = 30_000 } = {}) {
  const parts = relPath.split(/[\\/]/).filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const row = explorerRow(page, parts[i]);
    await row.waitFor({ timeout });
    if (i < parts.length - 1 && (await row.getAttribute('aria-expanded')) !== 'true') {
      await row.click();
      await page.waitForFunction((el) => el?.getAttribute('aria-expanded') === 'true', await row.elementHandle(), {
        timeout,
      });
    }
  }
  return explorerRow(page, parts[parts.length - 1]);
}

/** All labels of the context menu that is open now. */
export function menuItemLabels(page) {
  return page.locator('.monaco-menu .action-item:not(.disabled) .action-label').allInnerTexts();
}

/**
 * Right-clicks `target` (a locator, or a workspace-relative path shown in the Explorer) and
 * clicks the menu item `item` (exact text or RegExp). The first right-click after load may
 * lack contributed items (menus are filled as extensions register), so it retries. Returns the
 * number of right-clicks it took.
 */
export async function contextMenu(page, target, item, { attempts = 20, waitPerAttemptMs = 1500 } = {}) {
  const row = typeof target === 'string' ? await revealInExplorer(page, target) : target;
  const entry = page
    .locator('.monaco-menu .action-item:not(.disabled) .action-label', { hasText: exactText(item) })
    .first();
  let seen = [];
  for (let i = 1; i <= attempts; i++) {
    await row.click({ button: 'right' });
    try {
      await entry.waitFor({ timeout: waitPerAttemptMs });
      await clickMenuItem(page, entry);
      return i;
    } catch {
      seen = await menuItemLabels(page).catch(() => []);
      await page.keyboard.press('Escape');
      await page.waitForTimeout(250);
    }
  }
  throw new Error(
    `context menu item ${item} did not appear after ${attempts} right-clicks; the menu showed: ${JSON.stringify(seen)}`,
  );
}

/**
 * VS Code's menu items start listening for mouseup 100 ms after they render (a RunOnceScheduler
 * in menu.ts), so an instant click is silently lost and the menu stays open: wait, click, and
 * click again while the menu is still there.
 */
async function clickMenuItem(page, entry) {
  const menu = page.locator('.monaco-menu').first();
  for (let i = 0; i < 3; i++) {
    await page.waitForTimeout(250);
    await entry.click();
    try {
      await menu.waitFor({ state: 'hidden', timeout: 2_000 });
      return;
    } catch {
      /* still open: the click came too early */
    }
  }
  throw new Error('the context menu did not close after clicking its item three times');
}

/** The quick input box (command palette, quick picks, input boxes). */
export function quickInput(page) {
  return page.locator('.quick-input-widget input.input');
}

/**
 * Runs a command by its palette title ('Fast Style Transfer: Train a Style…'): F1, type, accept
 * the row whose label matches exactly (or the RegExp). Retries while the command is not yet
 * registered (the extension may still be activating), and, given `expect` (a locator of what
 * the command shows), until that shows.
 *
 * The row is accepted with the keyboard (arrow keys to it, Enter), not a mouse click: a click
 * waits for the row to be stable and unobscured, and the palette's list re-renders while its
 * asynchronous results arrive, so a click could wait out the whole deadline on a row that was
 * shown all along (seen once: "not found in the palette; it showed [<the command>, …]").
 */
export async function runCommand(page, title, { timeout = 30_000, expect } = {}) {
  const deadline = Date.now() + timeout;
  const text = title instanceof RegExp ? title.source.replace(/[\\^$]/g, '') : title;
  const rows = page.locator('.quick-input-list .monaco-list-row');
  const typed = `>${text}`;
  let lastError;
  while (Date.now() <= deadline) {
    // Keys typed while a webview (image preview, gallery) has focus go to its iframe, where F1
    // is not VS Code's: move focus back to the workbench first.
    await page.evaluate(() => {
      if (document.activeElement?.tagName === 'IFRAME') document.activeElement.blur();
    });
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const input = quickInput(page);
    try {
      await input.waitFor({ timeout: 10_000 });
      await input.fill(typed, { timeout: 5_000 });
      await rows
        .filter({ has: page.locator('.label-name', { hasText: exactText(title) }) })
        .first()
        .waitFor({ timeout: 2_000 });
      if (await acceptRow(page, input, title, typed)) {
        if (!expect) return;
        // The command's own UI (a quick pick) closes when focus moves under it: an image
        // preview opened a moment earlier takes focus once its webview has loaded. Run the
        // command again when what it shows did not come (or went away at once).
        try {
          await expect.waitFor({ timeout: Math.max(1_000, Math.min(10_000, deadline - Date.now())) });
          return;
        } catch (e) {
          lastError = new Error(`the command ran but ${expect} did not show`, { cause: e });
          continue;
        }
      }
      lastError = new Error('the palette did not take the command');
    } catch (e) {
      // Not listed yet, or the palette closed under the typing (after a tab is closed, VS Code
      // focuses the next editor — a webview for an image preview — a moment later): again.
      lastError = e;
    }
  }
  const shown = await page
    .locator('.quick-input-list .monaco-list-row .label-name')
    .allInnerTexts()
    .catch(() => []);
  await page.keyboard.press('Escape');
  throw new Error(
    `command ${title} not run from the palette within ${timeout} ms (${lastError?.message?.split('\n')[0]}); it showed ${JSON.stringify(shown.slice(0, 10))}`,
    { cause: lastError },
  );
}

/**
 * Moves the palette's focus to the row labelled `title` with the arrow keys and presses Enter;
 * true once the palette no longer shows what was typed (the command ran: the palette closed or
 * the command reused it for its own first step).
 */
async function acceptRow(page, input, title, typed) {
  const labels = page.locator('.quick-input-list .monaco-list-row .label-name');
  const focusedLabel = page.locator('.quick-input-list .monaco-list-row.focused .label-name');
  const matches = (s) => (title instanceof RegExp ? title.test(s) : s.trim() === title);
  const count = await labels.count();
  for (let i = 0; i <= count; i++) {
    const label = await focusedLabel
      .first()
      .innerText({ timeout: 1_000 })
      .catch(() => '');
    if (matches(label)) {
      await input.press('Enter');
      const until = Date.now() + 5_000;
      while (Date.now() < until) {
        if (!(await input.isVisible()) || (await input.inputValue().catch(() => '')) !== typed) return true;
        await page.waitForTimeout(100);
      }
      return false;
    }
    await input.press('ArrowDown');
  }
  return false;
}

/** Picks an item of an open quick pick by its exact label (or RegExp). */
export async function pickQuickItem(page, label, { timeout = 30_000 } = {}) {
  const row = page
    .locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exactText(label) }) })
    .first();
  await row.waitFor({ timeout });
  await row.click();
}

/** Types into an open input box / quick input and accepts it with Enter. */
export async function answerInput(page, value, { timeout = 30_000 } = {}) {
  const input = quickInput(page);
  await input.waitFor({ timeout });
  await input.fill(value);
  await input.press('Enter');
}

/**
 * A frame locator for the content of a webview. VS Code nests it: iframe.webview (the host
 * frame, one per webview, hidden ones are not `.ready`+visible) → #active-frame. With `title`,
 * the editor tab of that title is activated first so its webview is the visible one.
 */
export async function frameOf(page, { title, timeout = 30_000 } = {}) {
  if (title) {
    const tab = page
      .locator('.tabs-container .tab', { has: page.locator('.label-name', { hasText: exactText(title) }) })
      .first();
    await tab.waitFor({ timeout });
    await tab.click();
  }
  const host = page.locator('iframe.webview.ready:visible').last();
  await host.waitFor({ timeout });
  return host.contentFrame().frameLocator('#active-frame');
}

/** A cheap fingerprint of the pixels an <img> (a locator) shows now: "WxH:hash". */
export async function pixelHash(img) {
  return img.evaluate((el) => {
    const c = document.createElement('canvas');
    c.width = el.naturalWidth;
    c.height = el.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(el, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let h = 0;
    for (let i = 0; i < d.length; i++) h = (Math.imul(h, 31) + d[i]) | 0;
    return `${c.width}x${c.height}:${h}`;
  });
}

/** Labels of the open editor tabs. */
export function editorTabs(page) {
  return page.locator('.tabs-container .tab .label-name').allInnerTexts();
}

/** Messages of the notification toasts shown now. */
export function notifications(page) {
  return page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
}

/** Waits for a notification toast whose message contains `text` (or matches the RegExp). */
export async function waitForNotification(page, text, { timeout = 60_000 } = {}) {
  const toast = page.locator('.notifications-toasts .notification-list-item-message', { hasText: text }).first();
  await toast.waitFor({ timeout });
  return toast.innerText();
}

/** Polls the file system until `file` exists (and is non-empty, by default); returns its path. */
export async function waitForFile(file, { timeout = 60_000, nonEmpty = true, interval = 200 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      const st = fs.statSync(file);
      if (st.isFile() && (!nonEmpty || st.size > 0)) return file;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      let listing = '';
      try {
        listing = fs.readdirSync(path.dirname(file)).join(', ');
      } catch {
        /* no folder either */
      }
      throw new Error(`${file} did not appear within ${timeout} ms (folder holds: ${listing || 'nothing'})`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}
