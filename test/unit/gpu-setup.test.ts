// Set Up GPU Acceleration, engine side: prerequisite checks against a fake machine, npm
// invocation without a shell, install steps, and the precise failures (no network here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  checkGpuPrerequisites,
  findSharedLibrary,
  type RunResult,
  type SystemProbe,
} from '../../src/engine/gpuPrerequisites';
import { customBinaryPath, findNpm, installSteps, runGpuSetup, tfjsDownloadHost } from '../../src/engine/gpuSetup';
import { StyleTransferError } from '../../src/protocol/errors';
import { tempDir } from '../helpers/paths';

interface FakeOptions {
  platform?: NodeJS.Platform;
  arch?: string;
  files?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
  /** command → result (first word of the command's basename) */
  commands?: Record<string, RunResult | ((args: readonly string[]) => RunResult)>;
}

function fakeSystem(
  o: FakeOptions = {},
): SystemProbe & { calls: { command: string; args: readonly string[]; env?: NodeJS.ProcessEnv; cwd?: string }[] } {
  const calls: { command: string; args: readonly string[]; env?: NodeJS.ProcessEnv; cwd?: string }[] = [];
  const files = o.files ?? {};
  return {
    platform: o.platform ?? 'linux',
    arch: o.arch ?? 'x64',
    env: o.env ?? { PATH: '/usr/bin' },
    exists: (f) => f in files,
    readFile: (f) => files[f],
    calls,
    run: async (command, args, opts) => {
      calls.push({ command, args, env: opts?.env, cwd: opts?.cwd });
      const r = o.commands?.[path.basename(command)];
      if (!r) return { code: null, stdout: '', stderr: '', error: `spawn ${command} ENOENT` };
      return typeof r === 'function' ? r(args) : r;
    },
  };
}

const LDCONFIG = [
  "1234 libs found in cache `/etc/ld.so.cache'",
  '\tlibcudnn.so.8 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.8',
  '\tlibcudart.so.11.0 (libc6) => /usr/lib32/libcudart.so.11.0',
  '\tlibcudart.so.11.0 (libc6,x86-64) => /usr/local/cuda-11.2/lib64/libcudart.so.11.0',
].join('\n');
const DRIVER = 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.129.03  Thu Oct 19 18:56:32 UTC 2023\n';

test('a complete CUDA 11.2 machine passes every tfjs-node-gpu check, with what was found', async () => {
  const sys = fakeSystem({
    files: { '/proc/driver/nvidia/version': DRIVER },
    commands: {
      ldconfig: { code: 0, stdout: LDCONFIG, stderr: '' },
      'nvidia-smi': { code: 0, stdout: 'NVIDIA H100 80GB HBM3\n', stderr: '' },
    },
  });
  const checks = await checkGpuPrerequisites('tfjs-node-gpu', sys);
  assert.deepEqual(
    checks.map((c) => [c.id, c.ok]),
    [
      ['platform', true],
      ['driver', true],
      ['cuda', true],
      ['cudnn', true],
    ],
  );
  assert.match(checks[1].message, /535\.129\.03.*H100/);
  // the x86-64 entry, not the 32-bit one listed first
  assert.equal(checks[2].message, 'CUDA 11.2: /usr/local/cuda-11.2/lib64/libcudart.so.11.0');
  assert.match(checks[3].message, /libcudnn\.so\.8$/);
});

test('each missing prerequisite has its own precise message', async () => {
  const sys = fakeSystem({ commands: { ldconfig: { code: 0, stdout: 'no libs\n', stderr: '' } } });
  const checks = await checkGpuPrerequisites('tfjs-node-gpu', sys);
  const byId = Object.fromEntries(checks.map((c) => [c.id, c]));
  assert.equal(byId.driver.ok, false);
  assert.match(byId.driver.message, /\/proc\/driver\/nvidia\/version is missing and nvidia-smi did not run/);
  assert.match(
    byId.cuda.message,
    /^CUDA 11\.2 is missing: libcudart\.so\.11\.0 was not found in LD_LIBRARY_PATH, ldconfig's cache/,
  );
  assert.match(byId.cudnn.message, /^cuDNN 8\.1 is missing: libcudnn\.so\.8/);
  // ONNX Runtime's CUDA provider wants other versions
  const ort = await checkGpuPrerequisites('onnx-cuda', sys);
  assert.match(ort.find((c) => c.id === 'cuda')!.message, /CUDA 12 is missing: libcudart\.so\.12/);
  assert.match(ort.find((c) => c.id === 'cudnn')!.message, /cuDNN 9 is missing: libcudnn\.so\.9/);
  // macOS: no CUDA at all, and it says so first
  const mac = await checkGpuPrerequisites('tfjs-node-gpu', fakeSystem({ platform: 'darwin', arch: 'arm64' }));
  assert.equal(mac.length, 1);
  assert.match(mac[0].message, /only on Linux and Windows on x64 \(this is darwin-arm64\)/);
  // the CPU package needs nothing but a supported platform
  assert.deepEqual(
    (await checkGpuPrerequisites('tfjs-node', sys)).map((c) => c.ok),
    [true],
  );
});

test('libraries are found through LD_LIBRARY_PATH, and on Windows through PATH and CUDA_PATH', async () => {
  const linux = fakeSystem({
    env: { LD_LIBRARY_PATH: '/opt/a:/opt/cudnn/lib' },
    files: { '/opt/cudnn/lib/libcudnn.so.8': '' },
  });
  assert.equal(await findSharedLibrary('libcudnn.so.8', linux), '/opt/cudnn/lib/libcudnn.so.8');
  const win = fakeSystem({
    platform: 'win32',
    env: { PATH: 'C:\\Windows;C:\\tools\\cudnn\\bin', CUDA_PATH: 'C:\\CUDA\\v11.2' },
    files: { 'C:\\tools\\cudnn\\bin\\cudnn64_8.dll': '', 'C:\\CUDA\\v11.2\\bin\\cudart64_110.dll': '' },
    commands: { 'nvidia-smi': { code: 0, stdout: 'NVIDIA GeForce RTX 3080, 546.01\n', stderr: '' } },
  });
  const checks = await checkGpuPrerequisites('tfjs-node-gpu', win);
  assert.deepEqual(
    checks.map((c) => c.ok),
    [true, true, true, true],
  );
  assert.match(checks[1].message, /546\.01 \(NVIDIA GeForce RTX 3080\)/);
});

test('npm runs as node + npm-cli.js (no shell), found beside node on PATH', () => {
  const sys = fakeSystem({
    env: { PATH: '/home/u/.nvm/versions/node/v20/bin:/usr/bin' },
    files: {
      '/home/u/.nvm/versions/node/v20/bin/node': '',
      '/home/u/.nvm/versions/node/v20/lib/node_modules/npm/bin/npm-cli.js': '',
    },
  });
  assert.deepEqual(findNpm(sys), {
    node: '/home/u/.nvm/versions/node/v20/bin/node',
    npmCli: '/home/u/.nvm/versions/node/v20/lib/node_modules/npm/bin/npm-cli.js',
  });
  const win = fakeSystem({
    platform: 'win32',
    env: { Path: 'C:\\Program Files\\nodejs' },
    files: {
      'C:\\Program Files\\nodejs\\node.exe': '',
      'C:\\Program Files\\nodejs\\node_modules\\npm\\bin\\npm-cli.js': '',
    },
  });
  assert.equal(findNpm(win)?.npmCli, 'C:\\Program Files\\nodejs\\node_modules\\npm\\bin\\npm-cli.js');
  assert.equal(findNpm(fakeSystem({ env: { PATH: '/nowhere' } })), undefined);
});

const npm = { node: '/usr/bin/node', npmCli: '/usr/lib/node_modules/npm/bin/npm-cli.js' };
/** The arguments of `npm install` of these packages into /s/gpu: nothing saved, no audit or funding notes, no scripts. */
const npmInstallArgs = (...packages: string[]) => [
  npm.npmCli,
  'install',
  '--prefix',
  '/s/gpu',
  '--no-save',
  '--no-audit',
  '--no-fund',
  '--ignore-scripts',
  ...packages,
];

test('install steps: npm install without scripts into <storage>/gpu, then the download script with the mirror', () => {
  const steps = installSteps({
    target: 'tfjs-node-gpu',
    prefix: '/s/gpu',
    npm,
    tfjsMirror: 'https://mirror.example/tf',
  });
  assert.equal(steps.length, 2);
  assert.equal(steps[0].command, '/usr/bin/node');
  assert.deepEqual(steps[0].args, npmInstallArgs('@tensorflow/tfjs-node-gpu@4.22.0'));
  assert.deepEqual(steps[1].args, [npm.npmCli, 'rebuild', '--prefix', '/s/gpu', '@tensorflow/tfjs-node-gpu']);
  assert.equal(steps[1].env?.TFJS_NODE_CDN_STORAGE, 'https://mirror.example/tf/');
  const ort = installSteps({
    target: 'onnx-cuda',
    prefix: '/s/gpu',
    npm,
    ortPackageDir: '/ext/node_modules/onnxruntime-node',
  });
  assert.deepEqual(ort[0].args, [path.join('/ext/node_modules/onnxruntime-node', 'script', 'install.js')]);
  assert.equal(ort[0].env?.ONNXRUNTIME_NODE_INSTALL, 'cuda12');
  assert.equal(
    customBinaryPath('/s/gpu', 'tfjs-node'),
    path.join('/s/gpu', 'node_modules', '@tensorflow', 'tfjs-node', 'scripts', 'custom-binary.json'),
  );
  assert.throws(
    () => tfjsDownloadHost({ customLibtensorflow: '/tmp/libtensorflow.tar.gz' }, {}),
    /must be an https:\/\/ URL/,
  );
  assert.equal(tfjsDownloadHost({}, { TFJS_NODE_CDN_STORAGE: 'https://m/' }), 'https://m/');
});

test('setup fails precisely: missing prerequisites, unreachable host, npm download errors; succeeds with a working npm', async () => {
  const storage = tempDir('fst-gpu-');
  const nodeFiles = { '/usr/bin/node': '', '/usr/lib/node_modules/npm/bin/npm-cli.js': '' };
  // prerequisites missing and not forced
  await assert.rejects(
    runGpuSetup({ target: 'tfjs-node-gpu', storageDir: storage }, { probe: fakeSystem({ files: nodeFiles }) }),
    (e: unknown) =>
      e instanceof StyleTransferError &&
      e.code === 'backend' &&
      /cannot work on this computer yet: no NVIDIA driver/.test(e.message),
  );
  // the download host cannot be reached
  await assert.rejects(
    runGpuSetup(
      { target: 'tfjs-node', storageDir: storage },
      {
        probe: fakeSystem({ files: nodeFiles }),
        reachable: async () => 'getaddrinfo ENOTFOUND storage.googleapis.com',
      },
    ),
    (e: unknown) =>
      e instanceof StyleTransferError &&
      e.code === 'network' &&
      e.message.startsWith(
        'cannot reach https://storage.googleapis.com/ (getaddrinfo ENOTFOUND storage.googleapis.com)',
      ) &&
      /fastStyleTransfer\.gpu\.tfjsMirror/.test(e.message),
  );
  // npm's download script fails on the network
  const failing = fakeSystem({
    files: nodeFiles,
    commands: {
      node: (args) =>
        args.includes('rebuild')
          ? {
              code: 1,
              stdout: '* Downloading libtensorflow',
              stderr: 'Error: getaddrinfo EAI_AGAIN storage.googleapis.com',
            }
          : { code: 0, stdout: 'added 60 packages', stderr: '' },
    },
  });
  await assert.rejects(
    runGpuSetup(
      {
        target: 'tfjs-node',
        storageDir: storage,
        customLibtensorflow: 'https://mirror.example/libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz',
      },
      { probe: failing, reachable: async () => undefined },
    ),
    (e: unknown) =>
      e instanceof StyleTransferError &&
      e.code === 'network' &&
      /Downloading TensorFlow.*failed \(exit code 1\): a download failed \(EAI_AGAIN\)/.test(e.message),
  );
  // custom-binary.json was written before the download script ran
  assert.deepEqual(JSON.parse(fs.readFileSync(customBinaryPath(path.join(storage, 'gpu'), 'tfjs-node'), 'utf8')), {
    'tf-lib': 'https://mirror.example/libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz',
  });
  // success: both steps ran, without a shell, in <storage>/gpu
  const ok = fakeSystem({ files: nodeFiles, commands: { node: { code: 0, stdout: 'ok', stderr: '' } } });
  const progress: string[] = [];
  const r = await runGpuSetup(
    { target: 'tfjs-node', storageDir: storage },
    { probe: ok, reachable: async () => undefined, progress: (m) => progress.push(m) },
  );
  assert.equal(r.moduleRoot, path.join(storage, 'gpu'));
  assert.equal(ok.calls.length, 2);
  assert.ok(ok.calls.every((c) => c.command === '/usr/bin/node' && c.cwd === path.join(storage, 'gpu')));
  assert.deepEqual(progress, [
    'Checking that https://storage.googleapis.com/ can be reached…',
    'Installing @tensorflow/tfjs-node@4.22.0 from the npm registry',
    'Downloading TensorFlow (about 100 MB)',
  ]);
  // no node/npm at all
  await assert.rejects(
    runGpuSetup({ target: 'tfjs-node', storageDir: storage }, { probe: fakeSystem({ env: { PATH: '/nowhere' } }) }),
    (e: unknown) =>
      e instanceof StyleTransferError &&
      e.code === 'not-found' &&
      /Node\.js and npm were not found on PATH/.test(e.message),
  );
});

test('WebGPU: the Vulkan loader is checked on Linux, one npm install of both pinned packages, no download-host probe', async () => {
  const vulkanCache = '\tlibvulkan.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libvulkan.so.1\n';
  const withVulkan = await checkGpuPrerequisites(
    'webgpu',
    fakeSystem({ commands: { ldconfig: { code: 0, stdout: vulkanCache, stderr: '' } } }),
  );
  assert.deepEqual(
    withVulkan.map((c) => [c.id, c.ok]),
    [
      ['platform', true],
      ['vulkan', true],
    ],
  );
  assert.match(withVulkan[1].message, /\/usr\/lib\/x86_64-linux-gnu\/libvulkan\.so\.1/);
  const noVulkan = await checkGpuPrerequisites(
    'webgpu',
    fakeSystem({ commands: { ldconfig: { code: 0, stdout: '', stderr: '' } } }),
  );
  assert.equal(noVulkan[1].ok, false);
  assert.match(
    noVulkan[1].message,
    /libvulkan\.so\.1\) is missing.*Debian\/Ubuntu: libvulkan1\) and your GPU's Vulkan driver \(mesa-vulkan-drivers/,
  );
  // Metal and Direct3D 12 come with the system; other platforms have no Dawn build.
  assert.deepEqual(
    (await checkGpuPrerequisites('webgpu', fakeSystem({ platform: 'darwin', arch: 'arm64' }))).map((c) => [c.id, c.ok]),
    [['platform', true]],
  );
  assert.deepEqual(
    (await checkGpuPrerequisites('webgpu', fakeSystem({ platform: 'win32', arch: 'x64' }))).map((c) => [c.id, c.ok]),
    [['platform', true]],
  );
  const freebsd = await checkGpuPrerequisites('webgpu', fakeSystem({ platform: 'freebsd', arch: 'x64' }));
  assert.equal(freebsd[0].ok, false);
  assert.match(freebsd[0].message, /no Dawn build for freebsd-x64/);

  const steps = installSteps({ target: 'webgpu', prefix: '/s/gpu', npm });
  assert.equal(steps.length, 1);
  assert.deepEqual(steps[0].args, npmInstallArgs('webgpu@0.6.2', '@tensorflow/tfjs-backend-webgpu@4.22.0'));

  const storage = tempDir('fst-gpu-');
  const ok = fakeSystem({
    files: { '/usr/bin/node': '', '/usr/lib/node_modules/npm/bin/npm-cli.js': '' },
    commands: {
      ldconfig: { code: 0, stdout: vulkanCache, stderr: '' },
      node: { code: 0, stdout: 'added 12 packages', stderr: '' },
    },
  });
  const progress: string[] = [];
  const probed: string[] = [];
  const r = await runGpuSetup(
    { target: 'webgpu', storageDir: storage },
    {
      probe: ok,
      reachable: async (u) => {
        probed.push(u);
        return 'unreachable';
      },
      progress: (m) => progress.push(m),
    },
  );
  assert.equal(r.moduleRoot, path.join(storage, 'gpu'));
  assert.deepEqual(probed, [], "the npm registry is npm's business (its own proxy and registry settings)");
  assert.deepEqual(progress, [
    'Installing webgpu@0.6.2 and @tensorflow/tfjs-backend-webgpu@4.22.0 from the npm registry (about 130 MB)',
  ]);
  assert.equal(ok.calls.filter((c) => c.command === '/usr/bin/node').length, 1);
});
