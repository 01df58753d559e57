// The extension loads in a real VS Code extension host (code-server 4.100.3) and activates.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';

export const EXTENSION_ID = 'fast-style-transfer.fast-style-transfer';

interface ContributedCommand {
  command: string;
}

suite('activation', () => {
  test('the extension is present and activates without throwing', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not loaded (engines.vscode must be <= 1.100.3; see the code-server log)`);
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  test('every contributed command is registered after activation', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    await ext.activate();
    const contributed = ((ext.packageJSON.contributes?.commands ?? []) as ContributedCommand[]).map((c) => c.command);
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(
      contributed.filter((c) => !registered.has(c)),
      [],
      'contributed in package.json but never registered',
    );
  });

  test('the fixture workspace is open', () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'no workspace folder is open');
    const names = fs.readdirSync(folder.uri.fsPath);
    assert.ok(names.includes('gradient.png'), `unexpected workspace content: ${names.join(', ')}`);
  });
});
