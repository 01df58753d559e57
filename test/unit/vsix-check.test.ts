// The per-platform VSIX check (scripts/vsix-check.mjs) reads real binaries of every platform
// correctly and catches each kind of wrong package: built here as small zips holding real files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  binaryKind,
  checkVsix,
  expectedNatives,
  machoRelativeDeps,
  readZip,
  sharedDataIndex,
} from '../../scripts/vsix-check.mjs';
import { REPO_ROOT, tempDir } from '../helpers/paths';

const ORT_BIN = path.join(REPO_ROOT, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
const ortFile = (os: string, cpu: string, f: string) => path.join(ORT_BIN, os, cpu, f);
/** The first bytes of a file: enough for every header the check reads. */
const head = (file: string, n = 1 << 16) => {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    return b.subarray(0, fs.readSync(fd, b, 0, n, 0));
  } finally {
    fs.closeSync(fd);
  }
};

/** A little-endian record of `size` bytes: [offset, 2 or 4 bytes, value] for each field that is not 0. */
function record(size: number, fields: [number, 2 | 4, number][]): Buffer {
  const b = Buffer.alloc(size);
  for (const [at, bytes, v] of fields) {
    if (bytes === 2) b.writeUInt16LE(v, at);
    else b.writeUInt32LE(v, at);
  }
  return b;
}

/** A zip (stored entries, as a VSIX is laid out) of name → bytes. */
function writeZip(file: string, files: Record<string, Buffer | string>): void {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.from(content);
    const n = Buffer.from(name);
    const crc = zlib.crc32(data);
    // Local file header: signature, version needed, CRC-32, compressed and plain sizes, name length.
    const lh = record(30, [
      [0, 4, 0x04034b50],
      [4, 2, 20],
      [14, 4, crc],
      [18, 4, data.length],
      [22, 4, data.length],
      [26, 2, n.length],
    ]);
    // Central directory entry: the same, after "version made by", and the local header's offset.
    const ch = record(46, [
      [0, 4, 0x02014b50],
      [4, 2, 20],
      [6, 2, 20],
      [16, 4, crc],
      [20, 4, data.length],
      [24, 4, data.length],
      [28, 2, n.length],
      [42, 4, offset],
    ]);
    locals.push(lh, n, data);
    central.push(ch, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(central);
  // End of central directory: entries on this disk and in all, the directory's size and offset.
  const end = record(22, [
    [0, 4, 0x06054b50],
    [8, 2, central.length / 2],
    [10, 2, central.length / 2],
    [12, 4, cd.length],
    [16, 4, offset],
  ]);
  fs.writeFileSync(file, Buffer.concat([...locals, cd, end]));
}

const manifest = (t: string) =>
  `<PackageManifest><Metadata><Identity Id="fast-style-transfer" TargetPlatform="${t}"/></Metadata></PackageManifest>`;

test('binaryKind reads PE, Mach-O and ELF headers of the ONNX Runtime binaries of every platform', () => {
  assert.deepEqual(binaryKind(head(ortFile('win32', 'x64', 'onnxruntime_binding.node'))), { os: 'win32', cpu: 'x64' });
  assert.deepEqual(binaryKind(head(ortFile('win32', 'arm64', 'onnxruntime.dll'))), { os: 'win32', cpu: 'arm64' });
  assert.deepEqual(binaryKind(head(ortFile('darwin', 'arm64', 'onnxruntime_binding.node'))), {
    os: 'darwin',
    cpu: 'arm64',
  });
  assert.deepEqual(binaryKind(head(ortFile('linux', 'x64', 'libonnxruntime.so.1'))), {
    os: 'linux',
    cpu: 'x64',
    bits: 64,
  });
  assert.deepEqual(binaryKind(head(ortFile('linux', 'arm64', 'onnxruntime_binding.node'))), {
    os: 'linux',
    cpu: 'arm64',
    bits: 64,
  });
  // Not executables: text, an 'MZ' without a PE header, an empty file.
  assert.equal(binaryKind(Buffer.from('{"name": "x"}')), undefined);
  assert.equal(binaryKind(Buffer.concat([Buffer.from('MZ'), Buffer.alloc(100)])), undefined);
  assert.equal(binaryKind(Buffer.alloc(0)), undefined);
});

test('binaryKind: an x86-64 Mach-O and a universal binary list their CPUs', () => {
  const thin = Buffer.alloc(32);
  thin.writeUInt32LE(0xfeedfacf, 0);
  thin.writeUInt32LE(0x01000007, 4);
  assert.deepEqual(binaryKind(thin), { os: 'darwin', cpu: 'x64' });
  const fat = Buffer.alloc(48);
  fat.writeUInt32BE(0xcafebabe, 0);
  fat.writeUInt32BE(2, 4);
  fat.writeUInt32BE(0x01000007, 8);
  fat.writeUInt32BE(0x0100000c, 28);
  assert.deepEqual(binaryKind(fat), { os: 'darwin', cpu: 'x64+arm64', fat: true });
});

test('machoRelativeDeps: the macOS binding loads libonnxruntime.1.dylib from its own folder', () => {
  const dir = 'extension/node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64';
  const deps = machoRelativeDeps(head(ortFile('darwin', 'arm64', 'onnxruntime_binding.node')), dir);
  const ort = deps.find((d) => d.dep === '@rpath/libonnxruntime.1.dylib');
  assert.ok(ort, JSON.stringify(deps));
  assert.ok(ort.candidates.includes(`${dir}/libonnxruntime.1.dylib`), JSON.stringify(ort.candidates));
});

test('checkVsix passes a package with its own binaries and names each problem of a wrong one', () => {
  const dir = tempDir('fst-vsix-');
  const nm = 'extension/node_modules/';
  const linuxX64 = head(ortFile('linux', 'x64', 'onnxruntime_binding.node'));
  const bundles = (names: string[]) => Object.fromEntries(names.map((b) => [`extension/dist/${b}.js`, '// bundle']));
  const good = path.join(dir, 'good.vsix');
  writeZip(good, {
    'extension.vsixmanifest': manifest('linux-x64'),
    [`${nm}onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node`]: linuxX64,
    [`${nm}@img/sharp-linux-x64/lib/sharp-linux-x64-0.35.5.node`]: linuxX64,
    [`${nm}@img/sharp-libvips-linux-x64/lib/libvips-cpp.so.8.18.7`]: linuxX64,
    'extension/package.json': '{}',
    ...bundles(['extension', 'worker', 'cli', 'tfjs']),
  });
  const ok = checkVsix(good, 'linux-x64', { expect: expectedNatives('linux-x64') });
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.natives.length, 3);
  assert.equal(readZip(good).length, 9);

  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(path.join(dataDir, 'styles'), { recursive: true });
  fs.mkdirSync(path.join(dataDir, 'redistributable'));
  const painting = Buffer.alloc(4096, 7);
  fs.writeFileSync(path.join(dataDir, 'styles', 'painting.jpg'), painting);
  const allowed = Buffer.alloc(4096, 9);
  fs.writeFileSync(path.join(dataDir, 'redistributable', 'sample.jpg'), allowed);
  const bad = path.join(dir, 'bad.vsix');
  writeZip(bad, {
    'extension.vsixmanifest': manifest('linux-x64'),
    [`${nm}onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node`]: head(
      ortFile('linux', 'arm64', 'onnxruntime_binding.node'),
    ),
    [`${nm}onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime.dll`]: head(ortFile('win32', 'x64', 'onnxruntime.dll')),
    [`${nm}@img/sharp-darwin-arm64/lib/sharp-darwin-arm64-0.35.5.node`]: 'not a binary',
    'extension/media/painting.jpg': painting,
    'extension/media/sample.jpg': allowed,
    ...bundles(['extension', 'worker', 'cli']),
  });
  const r = checkVsix(bad, 'linux-arm64', {
    dataIndex: sharedDataIndex(dataDir),
    expect: expectedNatives('linux-arm64'),
  });
  const expected = [
    /manifest TargetPlatform is linux-x64, not linux-arm64/,
    /linux\/x64\/onnxruntime_binding\.node: ONNX Runtime binary for linux-x64/,
    /win32\/x64\/onnxruntime\.dll: win32 x64 binary in the linux-arm64 package/,
    /sharp-darwin-arm64-0\.35\.5\.node: package sharp-darwin-arm64 is not for linux-arm64/,
    /sharp-darwin-arm64-0\.35\.5\.node: named like a native library but is no PE, Mach-O or ELF file/,
    /media\/painting\.jpg: a copy of .*styles[/\\]painting\.jpg/,
    /missing native file node_modules\/@img\/sharp-linux-arm64/,
    /missing native file node_modules\/@img\/sharp-libvips-linux-arm64/,
    /missing bundle dist\/tfjs\.js/,
  ];
  for (const re of expected)
    assert.ok(
      r.problems.some((p) => re.test(p)),
      `${re} not in\n${r.problems.join('\n')}`,
    );
  assert.ok(!r.problems.some((p) => p.includes('sample.jpg')), 'redistributable/ files may ship');
});
