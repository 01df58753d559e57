// Issue 14.4 / 15.7: `auto` never starts Dawn on a software Vulkan driver or without a GPU, so
// `fst stylize -q` prints nothing on stderr even where Debian's libvulkan1 and
// mesa-vulkan-drivers (lavapipe) are installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { gpuDeviceNodes, noHardwareVulkanReason, vulkanDrivers } from '../../src/engine/onnx/vulkanDrivers';
import { REPO_ROOT, tempDir } from '../helpers/paths';

const root = tempDir('fst-vulkan-');
let n = 0;

/** A folder of ICD manifests: name → library_path. */
function icdDir(manifests: Record<string, string>): string {
  const dir = path.join(root, `icd${n++}`);
  fs.mkdirSync(dir);
  for (const [name, lib] of Object.entries(manifests))
    fs.writeFileSync(
      path.join(dir, name),
      JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: lib, api_version: '1.3.0' } }),
    );
  return dir;
}

/** A fake /dev holding `nodes` (e.g. 'dri/renderD128', 'nvidia0'). */
function devDir(...nodes: string[]): string {
  const dir = path.join(root, `dev${n++}`);
  for (const node of nodes) {
    fs.mkdirSync(path.dirname(path.join(dir, node)), { recursive: true });
    fs.writeFileSync(path.join(dir, node), '');
  }
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

test('software Vulkan drivers never count as a GPU; hardware drivers count only with a GPU device', () => {
  const lvp = icdDir({ 'lvp_icd.x86_64.json': '/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so' });
  assert.match(
    noHardwareVulkanReason({ VK_ICD_FILENAMES: lvp }, devDir('dri/renderD128'))!,
    /only software Vulkan drivers are installed \(lvp_icd\.x86_64\.json\)/,
  );
  // Recognised by the library too, and SwiftShader by name.
  const hidden = icdDir({ 'a.json': '/opt/x/libvulkan_lvp.so', 'vk_swiftshader_icd.json': './libvk_swiftshader.so' });
  assert.deepEqual(
    vulkanDrivers({ VK_DRIVER_FILES: hidden }).map((d) => d.software),
    [true, true],
  );
  // Debian's mesa-vulkan-drivers: radeon and intel manifests beside lavapipe, on a machine without a GPU.
  const mesa = icdDir({
    'intel_icd.x86_64.json': '/usr/lib/libvulkan_intel.so',
    'lvp_icd.x86_64.json': '/usr/lib/libvulkan_lvp.so',
    'radeon_icd.x86_64.json': '/usr/lib/libvulkan_radeon.so',
  });
  assert.match(
    noHardwareVulkanReason({ VK_ICD_FILENAMES: mesa }, devDir())!,
    /no GPU device .* intel_icd\.x86_64\.json, radeon_icd\.x86_64\.json$/,
  );
  assert.equal(noHardwareVulkanReason({ VK_ICD_FILENAMES: mesa }, devDir('dri/renderD128', 'dri/card0')), undefined);
  const nvidia = icdDir({ 'nvidia_icd.json': 'libGLX_nvidia.so.0' });
  assert.equal(noHardwareVulkanReason({ VK_ICD_FILENAMES: nvidia }, devDir('nvidiactl', 'nvidia0')), undefined);
  assert.match(noHardwareVulkanReason({ VK_ICD_FILENAMES: nvidia }, devDir('nvidiactl'))!, /no GPU device/);
  assert.deepEqual(gpuDeviceNodes(devDir('dri/card0', 'nvidiactl', 'nvidia-uvm')), []);
  assert.equal(
    noHardwareVulkanReason({ VK_ICD_FILENAMES: path.join(root, 'none') }, devDir('nvidia0')),
    'no Vulkan driver is installed',
  );
});

test('manifests are found where the loader looks: XDG folders, VK_ADD_DRIVER_FILES; unreadable ones are judged by name', () => {
  const data = path.join(root, 'xdg-data');
  const icd = path.join(data, 'vulkan', 'icd.d');
  fs.mkdirSync(icd, { recursive: true });
  fs.writeFileSync(path.join(icd, 'radeon_icd.json'), JSON.stringify({ ICD: { library_path: 'libvulkan_radeon.so' } }));
  fs.writeFileSync(path.join(icd, 'broken.json'), '{');
  const home = path.join(root, 'home');
  const env = { HOME: home, XDG_DATA_DIRS: data, XDG_CONFIG_DIRS: path.join(root, 'nothing') };
  assert.deepEqual(
    vulkanDrivers(env).map((d) => [path.basename(d.manifest), d.library, d.software]),
    [
      ['broken.json', '', false],
      ['radeon_icd.json', 'libvulkan_radeon.so', false],
    ],
  );
  const extra = icdDir({ 'lvp_icd.json': 'libvulkan_lvp.so' });
  assert.deepEqual(
    vulkanDrivers({ ...env, VK_ADD_DRIVER_FILES: path.join(extra, 'lvp_icd.json') }).map((d) =>
      path.basename(d.manifest),
    ),
    ['lvp_icd.json', 'broken.json', 'radeon_icd.json'],
  );
});

/**
 * A Vulkan loader with Mesa's drivers: the system's (libvulkan1 + mesa-vulkan-drivers), or the
 * two packages unpacked with `dpkg -x` into FST_TEST_VULKAN_ROOT (no root needed).
 */
function vulkanEnv(): NodeJS.ProcessEnv | undefined {
  const unpacked = process.env.FST_TEST_VULKAN_ROOT;
  if (unpacked) {
    const lib = path.join(unpacked, 'usr', 'lib', 'x86_64-linux-gnu');
    const icd = path.join(unpacked, 'usr', 'share', 'vulkan', 'icd.d');
    if (!fs.existsSync(path.join(lib, 'libvulkan.so.1')) || !fs.existsSync(icd)) return undefined;
    // The manifests name /usr/lib/…: point them at the unpacked libraries.
    const dir = path.join(root, 'unpacked-icd');
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(icd))
      fs.writeFileSync(
        path.join(dir, f),
        fs.readFileSync(path.join(icd, f), 'utf8').replaceAll('/usr/lib/x86_64-linux-gnu', lib),
      );
    return {
      LD_LIBRARY_PATH: lib,
      VK_ICD_FILENAMES: fs
        .readdirSync(dir)
        .map((f) => path.join(dir, f))
        .join(':'),
    };
  }
  const system = '/usr/share/vulkan/icd.d';
  const hasLoader = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'].some((d) =>
    fs.existsSync(path.join(d, 'libvulkan.so.1')),
  );
  return hasLoader && fs.existsSync(system) && fs.readdirSync(system).some((f) => /lvp/.test(f)) ? {} : undefined;
}

async function stylizeQuietly(
  extraEnv: NodeJS.ProcessEnv,
): Promise<{ quiet: ReturnType<typeof spawnSync>; loud: ReturnType<typeof spawnSync> }> {
  assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist', 'cli.js')), 'dist/cli.js missing: run `node esbuild.mjs` first');
  const dir = path.join(root, `run${n++}`);
  fs.mkdirSync(dir);
  const style = path.join(dir, 'starry');
  fs.cpSync(path.join(REPO_ROOT, 'styles', 'starry-night'), style, {
    recursive: true,
    filter: (src) => !/\.onnx/.test(src),
  });
  const photo = path.join(dir, 'photo.png');
  await sharp({ create: { width: 24, height: 16, channels: 3, background: '#806040' } })
    .png()
    .toFile(photo);
  // An invalid XDG_RUNTIME_DIR, as in the report (Mesa's WSI complains about it when a Vulkan instance starts).
  const env = { ...process.env, XDG_RUNTIME_DIR: path.join(dir, 'missing'), ...extraEnv };
  const run = (...flags: string[]) =>
    spawnSync(
      process.execPath,
      [path.join(REPO_ROOT, 'bin', 'fst.js'), 'stylize', ...flags, '-m', style, '-o', path.join(dir, 'out'), photo],
      { env, encoding: 'utf8', timeout: 120_000 },
    );
  return { quiet: run('-q'), loud: run() };
}

test('fst stylize -q prints nothing on stderr (no Vulkan here, or whatever this machine has)', async () => {
  const { quiet, loud } = await stylizeQuietly({});
  assert.equal(quiet.status, 0, String(quiet.stderr));
  assert.equal(quiet.stderr, '');
  assert.equal(loud.status, 0);
  assert.match(String(loud.stderr), /^fst stylize: ran on onnxruntime \S+( \S+)?\n$/);
});

test('with a Vulkan loader and Mesa lavapipe, auto tries no software adapter: -q stderr is empty, otherwise one line', async (t) => {
  const env = vulkanEnv();
  if (!env) {
    t.skip(
      'no Vulkan loader with lavapipe here (apt-get install libvulkan1 mesa-vulkan-drivers, or unpack both with dpkg -x into FST_TEST_VULKAN_ROOT)',
    );
    return;
  }
  assert.ok(noHardwareVulkanReason({ ...process.env, ...env }), 'this check needs a machine without a GPU');
  const { quiet, loud } = await stylizeQuietly(env);
  assert.equal(quiet.status, 0, String(quiet.stderr));
  assert.equal(quiet.stderr, '', 'no Dawn or driver messages');
  assert.match(String(loud.stderr), /^fst stylize: ran on onnxruntime cpu( fp32)?\n$/);
});
