// Checks a platform-specific VSIX without the platform (issue 18): its manifest names the target,
// every native binary inside is an executable format of that target (read from the headers: PE
// for Windows, Mach-O for macOS, ELF for Linux, and the CPU), the native packages of no other
// platform are present, macOS libraries find what they load, and no file of ../shared/data is
// packed (only its redistributable/ folder may ship).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/** Entries of a zip file as { name, size, data() }. Enough of the format for what vsce writes. */
export function readZip(file) {
  const buf = fs.readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${path.basename(file)} is not a zip file (no end of central directory)`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${path.basename(file)}: broken central directory`);
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
    const data = () => {
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      const raw = buf.subarray(start, start + csize);
      if (method === 0) return raw;
      if (method === 8) return zlib.inflateRawSync(raw);
      throw new Error(`${name}: zip method ${method} is not supported`);
    };
    entries.push({ name, size, data });
  }
  return entries;
}

const PE_MACHINE = { 0x8664: 'x64', 0xaa64: 'arm64', 0x014c: 'ia32', 0x01c4: 'arm' };
const MACHO_CPU = { 0x01000007: 'x64', 0x0100000c: 'arm64', 7: 'ia32', 12: 'arm' };
const ELF_MACHINE = { 62: 'x64', 183: 'arm64', 3: 'ia32', 40: 'arm' };

/**
 * The executable format of a file from its first bytes: { os, cpu } in Node's names (os 'win32'
 * for PE, 'darwin' for Mach-O, 'linux' for ELF; cpu 'x64', 'arm64', … or 'unknown(0x…)'), with
 * every slice's cpu for a universal Mach-O; undefined for anything else.
 */
export function binaryKind(b) {
  const hex = (n) => `unknown(0x${n.toString(16)})`;
  if (b.length >= 64 && b[0] === 0x4d && b[1] === 0x5a) {
    const pe = b.readUInt32LE(0x3c);
    if (pe + 6 <= b.length && b.readUInt32LE(pe) === 0x00004550) {
      const m = b.readUInt16LE(pe + 4);
      return { os: 'win32', cpu: PE_MACHINE[m] ?? hex(m) };
    }
    return undefined;
  }
  if (b.length >= 8 && b.readUInt32LE(0) === 0xfeedfacf) {
    const c = b.readUInt32LE(4);
    return { os: 'darwin', cpu: MACHO_CPU[c] ?? hex(c) };
  }
  if (b.length >= 8 && b.readUInt32BE(0) === 0xcafebabe) {
    // Universal binary: every slice counts (a slice for another CPU is another platform's code).
    const n = b.readUInt32BE(4);
    const cpus = [];
    for (let i = 0; i < n && 8 + 20 * (i + 1) <= b.length; i++) {
      const c = b.readUInt32BE(8 + 20 * i);
      cpus.push(MACHO_CPU[c] ?? hex(c));
    }
    return { os: 'darwin', cpu: cpus.join('+'), fat: true };
  }
  if (b.length >= 20 && b.readUInt32BE(0) === 0x7f454c46) {
    const little = b[5] === 1;
    const m = little ? b.readUInt16LE(18) : b.readUInt16BE(18);
    return { os: 'linux', cpu: ELF_MACHINE[m] ?? hex(m), bits: b[4] === 2 ? 64 : 32 };
  }
  return undefined;
}

/** Libraries a 64-bit thin Mach-O loads through @rpath / @loader_path, resolved against its own rpaths. */
export function machoRelativeDeps(b, selfDir) {
  const ncmds = b.readUInt32LE(16);
  const rpaths = [];
  const deps = [];
  let p = 32;
  for (let i = 0; i < ncmds && p + 8 <= b.length; i++) {
    const cmd = b.readUInt32LE(p);
    const size = b.readUInt32LE(p + 4);
    const str = () => {
      const s = p + b.readUInt32LE(p + 8);
      return b.toString('utf8', s, b.indexOf(0, s));
    };
    if (cmd === 0x8000001c) rpaths.push(str()); // LC_RPATH
    if (cmd === 0xc || cmd === 0x80000018 || cmd === 0x8000001f) deps.push(str()); // LC_LOAD_DYLIB, weak, reexport
    p += size;
  }
  const loader = (s) => s.replace(/^@loader_path/, selfDir);
  return deps.flatMap((d) => {
    if (d.startsWith('@loader_path/')) return [{ dep: d, candidates: [path.posix.normalize(loader(d))] }];
    if (d.startsWith('@rpath/')) {
      const rest = d.slice('@rpath/'.length);
      return [
        {
          dep: d,
          candidates: rpaths
            .filter((r) => r.startsWith('@loader_path'))
            .map((r) => path.posix.normalize(`${loader(r)}/${rest}`)),
        },
      ];
    }
    return []; // system libraries (/usr/lib, /System) are the OS's
  });
}

const NATIVE_NAME = /\.(node|dll|dylib|so)(\.\d+)*$/;

/** Sizes and hashes of ../shared/data's files except redistributable/, to spot a packed copy. */
export function sharedDataIndex(dataDir) {
  const bySize = new Map();
  if (!fs.existsSync(dataDir)) return undefined;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) {
        if (full !== path.join(dataDir, 'redistributable')) walk(full);
        continue;
      }
      if (!e.isFile()) continue;
      const size = fs.statSync(full).size;
      if (size < 64) continue; // tiny files (e.g. a one-line JSON) could match by chance
      bySize.set(size, [...(bySize.get(size) ?? []), full]);
    }
  };
  walk(dataDir);
  return bySize;
}

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

/** The bundles the extension loads at run time (esbuild.mjs): dist/tfjs.js only when it trains or falls back to tfjs. */
const BUNDLES = ['extension.js', 'worker.js', 'cli.js', 'tfjs.js'];

/**
 * Problems of one VSIX for `target` ('win32-x64', …) as lines (empty: it passes), with a summary.
 * `expect` lists the native files that must be there (paths inside extension/node_modules/).
 */
export function checkVsix(file, target, { dataIndex, expect = [] } = {}) {
  const [os, cpu] = target.split('-');
  const problems = [];
  const entries = readZip(file);
  const names = new Set(entries.map((e) => e.name));
  const manifest = entries.find((e) => e.name === 'extension.vsixmanifest');
  const tp = manifest
    ?.data()
    .toString('utf8')
    .match(/TargetPlatform="([^"]*)"/)?.[1];
  if (tp !== target) problems.push(`manifest TargetPlatform is ${tp ?? 'missing'}, not ${target}`);
  const natives = [];
  for (const e of entries) {
    const nm = e.name;
    // Native packages of other platforms, by their folder names, even if their files were unreadable.
    const img = nm.match(/^extension\/node_modules\/@img\/(sharp-(?:libvips-)?([a-z0-9]+)-([a-z0-9]+))\//);
    if (img && (img[2] !== os || img[3] !== cpu)) problems.push(`${nm}: package ${img[1]} is not for ${target}`);
    const ort = nm.match(/^extension\/node_modules\/onnxruntime-node\/bin\/napi-v\d+\/([^/]+)\/([^/]+)\//);
    if (ort && (ort[1] !== os || ort[2] !== cpu)) problems.push(`${nm}: ONNX Runtime binary for ${ort[1]}-${ort[2]}`);
    const data = e.size > 0 ? e.data() : Buffer.alloc(0);
    const kind = binaryKind(data);
    if (kind) {
      natives.push({ name: nm, size: e.size });
      if (kind.os !== os || kind.cpu !== cpu)
        problems.push(`${nm}: ${kind.os} ${kind.cpu} binary in the ${target} package`);
      if (kind.os === 'linux' && kind.bits !== 64) problems.push(`${nm}: 32-bit ELF`);
      if (kind.os === 'darwin' && !kind.fat) {
        for (const { dep, candidates } of machoRelativeDeps(data, path.posix.dirname(nm))) {
          if (!candidates.some((c) => names.has(c))) problems.push(`${nm}: loads ${dep}, which is not in the package`);
        }
      }
    } else if (NATIVE_NAME.test(nm)) {
      problems.push(`${nm}: named like a native library but is no PE, Mach-O or ELF file`);
    }
    const same = dataIndex?.get(e.size);
    if (same) {
      const h = sha(data);
      const copy = same.find((f) => sha(fs.readFileSync(f)) === h);
      if (copy) problems.push(`${nm}: a copy of ${copy}`);
    }
  }
  for (const bundle of BUNDLES)
    if (!names.has(`extension/dist/${bundle}`)) problems.push(`missing bundle dist/${bundle}`);
  for (const want of expect) {
    const re = new RegExp(`^extension/node_modules/${want}$`);
    if (!entries.some((e) => re.test(e.name))) problems.push(`missing native file node_modules/${want}`);
  }
  const unpacked = entries.reduce((s, e) => s + e.size, 0);
  return { problems, size: fs.statSync(file).size, unpacked, natives, files: entries.length };
}

/** The native files each target's package must hold (patterns under node_modules/). */
export function expectedNatives(target, { onnxRuntime = true } = {}) {
  const [os, cpu] = target.split('-');
  const sharp = [`@img/sharp-${os}-${cpu}/lib/sharp-${os}-${cpu}-[0-9.]+\\.node`];
  // Windows' sharp package carries libvips itself; elsewhere it is a package of its own.
  sharp.push(
    os === 'win32'
      ? `@img/sharp-${os}-${cpu}/lib/libvips-42\\.dll`
      : `@img/sharp-libvips-${os}-${cpu}/lib/libvips-cpp\\.[0-9.]*(so|dylib)[0-9.]*`,
  );
  const ort = onnxRuntime ? [`onnxruntime-node/bin/napi-v\\d+/${os}/${cpu}/onnxruntime_binding\\.node`] : [];
  return [...sharp, ...ort];
}
