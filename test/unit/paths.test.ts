// Every path check with Windows rules (drive letters, backslashes, UNC shares, case-insensitive
// names, device names) as well as POSIX ones, on any machine: the checks take the path module,
// and these tests hand them path.win32 and path.posix explicitly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { expandFolderSetting, isInsideFolder, looksAbsolute } from '../../src/shared/paths';
import { directChild } from '../../src/io/safePath';
import { jobRequestProblem } from '../../src/protocol/jobChecks';
import { parseWebviewMessage } from '../../src/protocol/gallery';

const { win32, posix } = path;

test('isInsideFolder (POSIX): the root and paths below it, nothing beside or above it', () => {
  assert.ok(isInsideFolder('/ws', '/ws', posix));
  assert.ok(isInsideFolder('/ws/a/b.png', '/ws', posix));
  assert.ok(!isInsideFolder('/ws2/a.png', '/ws', posix), 'a sibling with the root as prefix');
  assert.ok(!isInsideFolder('/etc/passwd', '/ws', posix));
  assert.ok(!isInsideFolder(posix.resolve('/ws/../etc/passwd'), '/ws', posix));
  assert.ok(isInsideFolder('/ws/..hidden/a.png', '/ws', posix), 'a name starting with two dots is still inside');
  assert.ok(isInsideFolder('/x', '/', posix), 'everything is inside /');
  assert.ok(!isInsideFolder('/WS/a.png', '/ws', posix), 'POSIX names are case-sensitive');
});

test('isInsideFolder (Windows): drive letters, backslashes, case, UNC shares, other drives', () => {
  assert.ok(isInsideFolder('C:\\ws', 'C:\\ws', win32));
  assert.ok(isInsideFolder('C:\\ws\\photos\\a.png', 'C:\\ws', win32));
  assert.ok(
    isInsideFolder('c:\\WS\\Photos\\a.png', 'C:\\ws', win32),
    'names and drive letters compare case-insensitively',
  );
  assert.ok(isInsideFolder('C:/ws/a.png', 'C:\\ws', win32), 'forward slashes are separators too');
  assert.ok(isInsideFolder('C:\\ws\\..hidden\\a.png', 'C:\\ws', win32));
  assert.ok(isInsideFolder('C:\\a.png', 'C:\\', win32), 'a workspace at the root of a drive');
  assert.ok(!isInsideFolder('C:\\ws2\\a.png', 'C:\\ws', win32), 'a sibling with the root as prefix');
  assert.ok(!isInsideFolder('C:\\Windows\\win.ini', 'C:\\ws', win32));
  assert.ok(!isInsideFolder('D:\\ws\\a.png', 'C:\\ws', win32), 'the same folder on another drive');
  assert.ok(!isInsideFolder(win32.resolve('C:\\ws\\..\\secret'), 'C:\\ws', win32));
  assert.ok(isInsideFolder('\\\\nas\\share\\styles\\a.png', '\\\\nas\\share\\styles', win32));
  assert.ok(!isInsideFolder('\\\\nas\\other\\a.png', '\\\\nas\\share', win32), 'another share of the same server');
  assert.ok(!isInsideFolder('\\\\evil\\share\\a.png', 'C:\\ws', win32), 'a UNC path is never inside a drive folder');
});

test('looksAbsolute: POSIX, drive, UNC and device paths; nothing relative to a current drive or folder', () => {
  for (const p of [
    '/home/me/a.png',
    'C:\\Users\\me\\a.png',
    'c:/Users/me/a.png',
    '\\\\nas\\share\\a.png',
    '\\\\?\\C:\\very\\long\\a.png',
    '\\\\.\\C:\\a.png',
  ]) {
    assert.ok(looksAbsolute(p), p);
    assert.ok(posix.isAbsolute(p) || win32.isAbsolute(p), `${p} is absolute for Node too`);
  }
  // 'C:a.png' is relative to drive C's current folder, '\a.png' to the current drive's root:
  // path.win32 calls the latter absolute, but the drive depends on the process.
  for (const p of [
    'C:a.png',
    '\\a.png',
    'a.png',
    '.\\a.png',
    '..\\a.png',
    'photos/a.png',
    '',
    'file:///C:/a.png',
    '1:\\a.png',
  ]) {
    assert.ok(!looksAbsolute(p), JSON.stringify(p));
  }
});

test('the job and webview protocols accept Windows absolute paths and refuse drive-relative ones', () => {
  const settings = {
    trainingBackend: 'auto',
    stylizeRuntime: 'auto',
    threads: 0,
    cacheDir: 'C:\\Users\\me\\AppData\\fst',
    extraModuleRoots: ['\\\\nas\\share\\modules'],
    maxInputPixels: 1e8,
  };
  const job = (style: string) => ({ type: 'exportOnnx', style, target: 'D:\\exports\\udnie.onnx' });
  assert.equal(jobRequestProblem(job('C:\\Users\\me\\styles\\udnie'), settings), undefined);
  assert.equal(jobRequestProblem(job('\\\\nas\\share\\styles\\udnie'), settings), undefined);
  assert.match(jobRequestProblem(job('C:styles\\udnie'), settings) ?? '', /must be an absolute path/);
  assert.match(jobRequestProblem(job('styles\\udnie'), settings) ?? '', /must be an absolute path/);
  assert.deepEqual(parseWebviewMessage({ type: 'openImagePath', path: 'C:\\Users\\me\\Pictures\\a.png' }), {
    type: 'openImagePath',
    path: 'C:\\Users\\me\\Pictures\\a.png',
  });
  assert.ok(parseWebviewMessage({ type: 'openImagePath', path: 'C:Pictures\\a.png' }) instanceof Error);
  assert.ok(parseWebviewMessage({ type: 'openImagePath', path: '..\\..\\secret.png' }) instanceof Error);
});

test('directChild (Windows): a name from a manifest stays a file directly inside its folder', () => {
  const dir = 'C:\\Users\\me\\models\\udnie';
  assert.equal(directChild(dir, 'Variable_1', win32), 'C:\\Users\\me\\models\\udnie\\Variable_1');
  assert.equal(directChild(dir, 'manifest.json', win32), 'C:\\Users\\me\\models\\udnie\\manifest.json');
  for (const name of [
    '..\\secret',
    '..',
    '.',
    '',
    'sub\\Variable',
    'sub/Variable',
    'C:\\Windows\\win.ini',
    'C:/Windows/win.ini',
    'D:Variable',
    '\\\\evil\\share\\Variable',
    '\\Windows\\win.ini',
    'Var\u0000iable',
    'Variable:hidden', // an alternate data stream
    'CON',
    'nul',
    'NUL.json',
    'com1',
    'LPT9.bin',
    'aux.',
    'CONIN$',
  ]) {
    assert.equal(directChild(dir, name, win32), undefined, JSON.stringify(name));
  }
  assert.equal(
    directChild(dir, 'console.json', win32),
    'C:\\Users\\me\\models\\udnie\\console.json',
    'only exact device names',
  );
  assert.equal(directChild('\\\\nas\\share\\udnie', 'Variable', win32), '\\\\nas\\share\\udnie\\Variable');
});

test('directChild (POSIX): the same rules; a backslash is part of a name there', () => {
  assert.equal(directChild('/m/udnie', 'Variable_1', posix), '/m/udnie/Variable_1');
  for (const name of ['../secret', '/etc/passwd', 'sub/Variable', '..', '.', '', 'Var\u0000iable']) {
    assert.equal(directChild('/m/udnie', name, posix), undefined, JSON.stringify(name));
  }
  assert.equal(directChild('/m/udnie', 'a\\b', posix), '/m/udnie/a\\b');
  assert.equal(directChild('/m/udnie', 'CON', posix), '/m/udnie/CON', 'device names are Windows-only');
});

test('expandFolderSetting: ${workspaceFolder}, ~ and relative folders with Windows and POSIX paths', () => {
  const ws = 'C:\\proj';
  const home = 'C:\\Users\\me';
  assert.equal(expandFolderSetting('${workspaceFolder}\\stylized', ws, home, win32), 'C:\\proj\\stylized');
  assert.equal(expandFolderSetting('stylized', ws, home, win32), 'C:\\proj\\stylized');
  assert.equal(expandFolderSetting('~\\Pictures\\out', ws, home, win32), 'C:\\Users\\me\\Pictures\\out');
  assert.equal(expandFolderSetting('~/Pictures/out', ws, home, win32), 'C:\\Users\\me/Pictures/out');
  assert.equal(expandFolderSetting('D:\\results', ws, home, win32), 'D:\\results');
  assert.equal(expandFolderSetting('\\\\nas\\share\\out', ws, home, win32), '\\\\nas\\share\\out');
  assert.equal(
    expandFolderSetting('${workspaceFolder}\\out', 'C:\\$&\\$1', home, win32),
    'C:\\$&\\$1\\out',
    'a "$" in a folder name is not a pattern',
  );
  assert.equal(expandFolderSetting('~/out', '/p', '/home/me', posix), '/home/me/out');
  assert.equal(expandFolderSetting('out', '/p', '/home/me', posix), '/p/out');
  assert.equal(
    expandFolderSetting('~user/out', '/p', '/home/me', posix),
    '/p/~user/out',
    'only a bare ~ is the home folder',
  );
});
