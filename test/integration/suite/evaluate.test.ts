// Evaluate Style… in the real extension host: the worker runs the evaluate job on the shipped
// sample photos, the contact sheet is written into the extension's storage and opened beside.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EvaluateResult } from '../../../src/protocol/jobs';
import { api, useSharedVgg } from './helpers';

suite('evaluate', () => {
  suiteSetup(async () => {
    await useSharedVgg();
  });

  test('Evaluate Style… on the bundled Starry Night: the three figures for each sample photo, a contact sheet opened', async function () {
    this.timeout(300_000);
    const a = await api();
    await a.store.refresh();
    const starry = a.store.all.find((s) => s.origin === 'bundled' && s.name === 'Starry Night');
    assert.ok(starry, 'the bundled Starry Night is listed');
    const painting = path.join(a.context.extension.extensionPath, 'media', 'samples', 'starry_night.jpg');
    const r = await vscode.commands.executeCommand<EvaluateResult | undefined>(
      'fastStyleTransfer.evaluateStyle',
      starry.id,
      painting,
    );
    assert.ok(r, 'a result');
    const m = r.models[0];
    assert.deepEqual(
      m.photos.map((p) => path.basename(p.photo)),
      ['astronaut.png', 'coffee.png', 'rocket.jpg'],
    );
    assert.ok(m.mean.styleDistance > 0 && m.mean.styleDistance < 2, `style distance ${m.mean.styleDistance}`);
    assert.ok(m.mean.contentDistance > 0 && m.mean.contentDistance < 5, `content distance ${m.mean.contentDistance}`);
    assert.ok(m.mean.blobShare >= 0 && m.mean.blobShare < 1);
    assert.ok(r.sheet && fs.existsSync(r.sheet.path), 'the sheet is written');
    assert.equal(path.dirname(r.sheet.path), path.join(a.context.storageDir, 'evaluations'));
    const open = vscode.window.tabGroups.all
      .flatMap((g) => g.tabs)
      .map((t) => (t.input as { uri?: vscode.Uri } | undefined)?.uri?.fsPath);
    assert.ok(open.includes(r.sheet.path), `the sheet is open (${open.join(', ')})`);
  });
});
