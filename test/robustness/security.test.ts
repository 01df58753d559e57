// Security properties checked as tests: the webview's Content Security Policy, no shell
// anywhere, downloads only over HTTPS with a checksum, workspace trust declared and asked for,
// and paths from untrusted places kept inside their folders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { contentSecurityPolicy, galleryHtml } from '../../src/views/gallery/html';
import { downloadFile, VGG19_SOURCES } from '../../src/io/download';
import { fileInFolder } from '../../src/io/safePath';
import { jobRequestProblem } from '../../src/protocol/jobChecks';
import { StyleTransferError } from '../../src/protocol/errors';
import { REPO_ROOT, tempDir } from '../helpers/paths';

function files(dir: string, ext: RegExp): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p, ext) : ext.test(e.name) ? [p] : [];
  });
}

test('the gallery webview CSP allows no eval, no inline code, no remote origins', () => {
  const cspSource = 'https://file+.vscode-resource.vscode-cdn.net';
  const policy = contentSecurityPolicy(cspSource, 'abc123');
  const directives = new Map(
    policy
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([k, ...v]) => [k, v]),
  );
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  assert.deepEqual(directives.get('script-src'), ["'nonce-abc123'"], 'scripts only with the nonce');
  for (const [name, sources] of directives) {
    for (const s of sources) {
      assert.ok(!/unsafe-(eval|inline|hashes)|wasm-unsafe-eval|strict-dynamic/.test(s), `${name} allows ${s}`);
      // Only the webview's own resource origin, nonces, blob: and data: (decoded images).
      assert.ok(
        [cspSource, "'none'", "'self'", 'blob:', 'data:'].includes(s) || /^'nonce-[A-Za-z0-9+/=]+'$/.test(s),
        `${name} allows the origin ${s}`,
      );
    }
  }
  assert.ok(
    !directives.has('connect-src') || directives.get('connect-src')!.every((s) => s === "'none'"),
    'no network from the webview',
  );

  const uri = (p: string) => ({ toString: () => `${cspSource}/ext/dist/webview/${p}` });
  const webview = { cspSource, asWebviewUri: (u: { toString(): string }) => u } as unknown as Parameters<
    typeof galleryHtml
  >[0];
  const join = (_base: unknown, ...p: string[]) => uri(p.join('/')) as unknown as Parameters<typeof galleryHtml>[1];
  const a = galleryHtml(webview, uri('') as unknown as Parameters<typeof galleryHtml>[1], 'panel', join);
  const b = galleryHtml(webview, uri('') as unknown as Parameters<typeof galleryHtml>[1], 'panel', join);
  assert.equal((a.match(/http-equiv="Content-Security-Policy"/g) ?? []).length, 1);
  const nonce = /'nonce-([^']+)'/.exec(a)![1];
  assert.notEqual(nonce, /'nonce-([^']+)'/.exec(b)![1], 'a fresh nonce per load');
  assert.ok(nonce.length >= 16);
  for (const tag of a.match(/<(script|link)\b[^>]*>/g) ?? [])
    assert.match(tag, new RegExp(`nonce="${nonce}"`), `${tag} carries the nonce`);
  assert.doesNotMatch(a, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(a, /\son[a-z]+=/i, 'no inline event handlers');
  for (const src of a.match(/(?:src|href)="([^"]+)"/g) ?? [])
    assert.ok(src.includes(cspSource), `${src} is a webview resource`);
  // Our webview code never evaluates strings or parses HTML; the bundle (with its UI library) never evaluates strings.
  for (const f of files(path.join(REPO_ROOT, 'webview'), /\.ts$/)) {
    assert.ok(
      !/\beval\(|new Function\(|\.innerHTML\s*=|outerHTML\s*=|insertAdjacentHTML|document\.write/.test(
        fs.readFileSync(f, 'utf8'),
      ),
      path.relative(REPO_ROOT, f),
    );
  }
  for (const f of files(path.join(REPO_ROOT, 'dist', 'webview'), /\.js$/)) {
    assert.ok(!/\beval\(|new Function\(/.test(fs.readFileSync(f, 'utf8')), path.relative(REPO_ROOT, f));
  }
  // The panel: scripts on, resources only from the bundle folder and the stylized clips' WebM
  // previews in the extension's own storage, no command links.
  const controller = fs.readFileSync(path.join(REPO_ROOT, 'src', 'views', 'gallery', 'galleryController.ts'), 'utf8');
  assert.doesNotMatch(controller, /enableCommandUris\s*:\s*true/);
  const roots = controller.match(/localResourceRoots: [^,}\n]+/g) ?? [];
  assert.ok(roots.length >= 2, 'the panel and the sidebar view set their resource roots');
  for (const r of roots) assert.equal(r.trim(), 'localResourceRoots: this.resourceRoots');
  assert.match(
    controller,
    /get resourceRoots\(\): vscode\.Uri\[\] \{\s*return \[this\.bundleRoot, vscode\.Uri\.file\(playbackDir\(this\.ctx\.storageDir\)\)\];/,
  );
});

test('no shell anywhere: child processes only in GPU setup and ffmpeg, spawned without a shell', () => {
  const sources = [...files(path.join(REPO_ROOT, 'src'), /\.ts$/), ...files(path.join(REPO_ROOT, 'webview'), /\.ts$/)];
  const bundles = files(path.join(REPO_ROOT, 'dist'), /\.js$/);
  assert.ok(sources.length > 20);
  // Set Up GPU Acceleration runs npm, nvidia-smi and ldconfig, and videos run ffmpeg/ffprobe:
  // the only places with child processes (in the worker's and the CLI's bundles), each spawned
  // with an argument array and shell: false. The extension host's bundle spawns nothing.
  const gpuSetup = path.join(REPO_ROOT, 'src', 'engine', 'gpuPrerequisites.ts'); // its system probe runs them
  const ffmpegRunners = [
    path.join(REPO_ROOT, 'src', 'io', 'ffmpeg.ts'),
    path.join(REPO_ROOT, 'src', 'io', 'videoStream.ts'),
  ];
  const mayspawn = new Set([
    gpuSetup,
    ...ffmpegRunners,
    path.join(REPO_ROOT, 'dist', 'worker.js'),
    path.join(REPO_ROOT, 'dist', 'cli.js'),
  ]);
  for (const f of [...sources, ...bundles]) {
    const text = fs.readFileSync(f, 'utf8');
    const forbidden = [/\bexecSync\b|\bexecFileSync\b|\bspawnSync\b/, /\bshell\s*:\s*(true|!0)\b/, /\.exec\(\s*['"`]/];
    if (!mayspawn.has(f)) forbidden.push(/\bchild_process\b/);
    for (const re of forbidden) assert.ok(!re.test(text), `${path.relative(REPO_ROOT, f)} matches ${re}`);
  }
  const text = fs.readFileSync(gpuSetup, 'utf8');
  assert.deepEqual(text.match(/from 'node:child_process'/g)?.length, 1);
  assert.match(text, /import \{ spawn \} from 'node:child_process';/, 'only spawn (no exec, which runs a shell)');
  assert.deepEqual(text.match(/\bspawn\(/g)?.length, 1, 'one spawn call');
  assert.match(text, /spawn\(command, \[\.\.\.args\], \{[^}]*shell: false/);
  for (const f of ffmpegRunners) {
    const src = fs.readFileSync(f, 'utf8');
    assert.match(
      src,
      /import \{ spawn(, type [A-Za-z]+)? \} from 'node:child_process';/,
      `${path.basename(f)}: only spawn`,
    );
    const calls = src.match(/\bspawn\(/g)?.length ?? 0;
    assert.ok(calls >= 1, `${path.basename(f)} spawns ffmpeg`);
    assert.equal(
      src.match(/\{ shell: false, windowsHide: true, stdio: /g)?.length,
      calls,
      `${path.basename(f)}: every spawn without a shell`,
    );
  }
});

test('downloads: HTTPS only (plain HTTP just to 127.0.0.1), always with a published checksum', async () => {
  const dest = path.join(tempDir('fst-sec-'), 'x.bin');
  const sha256 = 'a'.repeat(64);
  for (const url of [
    'http://example.com/x.bin',
    'http://localhost/x.bin',
    'http://127.0.0.1.evil.example/x.bin',
    'ftp://example.com/x.bin',
    'file:///etc/passwd',
    'data:,hello',
    'not a url',
  ]) {
    await assert.rejects(
      downloadFile(url, dest, { sha256 }),
      (e: unknown) => e instanceof StyleTransferError && e.code === 'bad-input',
      url,
    );
  }
  await assert.rejects(
    downloadFile('https://example.com/x.bin', dest, {}),
    (e: unknown) => e instanceof StyleTransferError && /without a checksum/.test(e.message),
  );
  await assert.rejects(
    downloadFile('https://example.com/x.bin', dest, { sha256: 'nothex' }),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'bad-input',
  );
  assert.equal(
    fs.existsSync(path.dirname(dest)) && fs.readdirSync(path.dirname(dest)).length,
    0,
    'nothing fetched, nothing written',
  );
  // Every known source: https and a fixed digest.
  assert.match(VGG19_SOURCES.matconvnet.url, /^https:\/\//);
  assert.match(VGG19_SOURCES.matconvnet.md5, /^[0-9a-f]{32}$/);
  const pretrained = JSON.parse(
    fs.readFileSync(path.join(REPO_ROOT, 'src', 'engine', 'pretrainedStyles.json'), 'utf8'),
  ) as { source: string; styles: { files: Record<string, string> }[] };
  assert.match(pretrained.source, /^https:\/\//);
  for (const s of pretrained.styles)
    for (const [file, digest] of Object.entries(s.files)) assert.match(digest, /^[0-9a-f]{64}$/, file);
  // Every download in the engine goes through downloadFile (which enforces all of the above).
  for (const f of files(path.join(REPO_ROOT, 'src'), /\.ts$/)) {
    if (f.endsWith(path.join('io', 'download.ts'))) continue;
    if (f.endsWith(path.join('engine', 'gpuSetup.ts'))) {
      // GPU setup only probes that the download host answers (HTTPS HEAD); npm downloads.
      const text = fs.readFileSync(f, 'utf8');
      assert.doesNotMatch(text, /from 'node:http'|\bfetch\(|\.get\(/, 'gpuSetup.ts: no plain HTTP, no GET');
      assert.equal(text.match(/https\.request\(/g)?.length, 1);
      assert.match(text, /https\.request\(u, \{ method: 'HEAD'/);
      continue;
    }
    assert.doesNotMatch(
      fs.readFileSync(f, 'utf8'),
      /from 'node:https?'|require\('https?'\)|\bfetch\(/,
      `${path.relative(REPO_ROOT, f)} fetches on its own`,
    );
  }
});

test('workspace trust: declared as limited, path settings restricted, and training on workspace files asks first', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
  const trust = pkg.capabilities?.untrustedWorkspaces;
  assert.equal(trust?.supported, 'limited');
  assert.match(trust.description, /untrusted/i);
  for (const k of [
    'fastStyleTransfer.vggWeightsPath',
    'fastStyleTransfer.outputFolder',
    'fastStyleTransfer.stylesFolder',
  ])
    assert.ok(trust.restrictedConfigurations.includes(k), k);
  // GPU setup's settings choose a binary to run and where native code comes from: user (machine)
  // settings only, restricted in untrusted workspaces, and read from the user's settings.
  const props = pkg.contributes.configuration.properties as Record<string, { scope?: string }>;
  for (const k of [
    'fastStyleTransfer.gpu.tfjsMirror',
    'fastStyleTransfer.gpu.libtensorflowUrl',
    'fastStyleTransfer.gpu.nodePath',
  ]) {
    assert.equal(props[k]?.scope, 'machine', k);
    assert.ok(trust.restrictedConfigurations.includes(k), k);
  }
  const setUp = fs.readFileSync(path.join(REPO_ROOT, 'src', 'commands', 'setUpGpu.ts'), 'utf8');
  assert.doesNotMatch(setUp, /config\.get<string>\('gpu\./, 'GPU settings are read with inspect().globalValue');
  assert.match(setUp, /inspect<unknown>\(key\)\?\.globalValue/);
  const train = fs.readFileSync(path.join(REPO_ROOT, 'src', 'commands', 'train.ts'), 'utf8');
  const body = train.slice(
    train.indexOf('export async function trainCommand'),
    train.indexOf('export async function resumeTrainingCommand'),
  );
  const trustCheck = body.search(/!vscode\.workspace\.isTrusted/);
  assert.ok(trustCheck > 0, 'trainCommand checks workspace trust');
  assert.ok(trustCheck < body.indexOf('runTraining('), 'before any training starts');
  assert.match(
    body.slice(trustCheck, body.indexOf('runTraining(')),
    /showWarningMessage\([^)]*modal: true/s,
    'with a modal question',
  );
});

test('paths from untrusted places stay inside their folders', async () => {
  const root = tempDir('fst-sec-');
  const dir = path.join(root, 'model');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(root, 'secret'), 'x');
  fs.writeFileSync(path.join(dir, 'Variable'), 'x');
  fs.symlinkSync(path.join(root, 'secret'), path.join(dir, 'link-out'));
  fs.symlinkSync('Variable', path.join(dir, 'link-in'));
  for (const name of ['../secret', '/etc/passwd', 'sub/Variable', '..', '.', '', 'link-out', 'Var\u0000iable'])
    assert.equal(await fileInFolder(dir, name), undefined, JSON.stringify(name));
  assert.equal(await fileInFolder(dir, 'Variable'), fs.realpathSync(path.join(dir, 'Variable')));
  assert.equal(
    await fileInFolder(dir, 'link-in'),
    fs.realpathSync(path.join(dir, 'Variable')),
    'a link to a file in the folder is fine',
  );
  assert.equal(
    await fileInFolder(dir, 'missing'),
    path.join(dir, 'missing'),
    'a missing file is left for the read to report',
  );
  // Jobs reaching the engine worker carry absolute paths only (a relative one would land wherever the host started).
  const settings = {
    trainingBackend: 'cpu',
    stylizeRuntime: 'onnx',
    threads: 0,
    cacheDir: '/c',
    extraModuleRoots: [],
    maxInputPixels: 1,
  };
  assert.equal(
    jobRequestProblem({ type: 'stylize', inputs: ['/a.png'], style: '/s', options: {} }, settings),
    undefined,
  );
  assert.equal(
    jobRequestProblem({ type: 'import', source: '/s', target: 'x' }, settings),
    '"target" must be an absolute path',
  );
  assert.equal(
    jobRequestProblem({ type: 'stylize', inputs: ['/a.png'], style: '/s', options: { outDir: '../out' } }, settings),
    '"options.outDir" must be an absolute path',
  );
  assert.equal(
    jobRequestProblem({ type: 'info' }, { ...settings, cacheDir: 'cache' }),
    '"settings.cacheDir" must be an absolute path',
  );
  // A resume is its own request: a train request has real paths, no placeholders.
  assert.equal(
    jobRequestProblem(
      {
        type: 'train',
        options: { styleImage: '', dataDir: '', output: '/o', name: 'n', preset: 'quick', vggPath: '/v' },
      },
      settings,
    ),
    '"options.styleImage" is empty',
  );
  assert.equal(
    jobRequestProblem({ type: 'resume', options: { checkpoint: '/o', vggPath: '/v' } }, settings),
    undefined,
  );
});
