// Palette → "Set Up GPU Acceleration…": choose what to install (TensorFlow with CUDA for
// training, native TensorFlow on the CPU, WebGPU for training on any GPU, or ONNX Runtime's
// CUDA provider for stylizing), check the prerequisites with one precise message each, install
// in the worker with a cancellable progress notification, then switch the engine to it and
// check that it loads.
import * as vscode from 'vscode';
import type { GpuTarget, PrerequisiteCheckInfo } from '../protocol/jobs';
import { codeOf, messageOf } from '../protocol/errors';
import type { CommandContext } from '../services/context';

const TITLE = 'Set Up GPU Acceleration';

export const GPU_CHOICES: readonly { target: GpuTarget; label: string; detail: string }[] = [
  {
    target: 'tfjs-node-gpu',
    label: 'TensorFlow with CUDA (train on an NVIDIA GPU)',
    detail:
      'Installs @tensorflow/tfjs-node-gpu 4.22 (downloads TensorFlow, about 400 MB). Needs an NVIDIA driver, CUDA 11.2 and cuDNN 8.1; Linux or Windows.',
  },
  {
    target: 'tfjs-node',
    label: 'Native TensorFlow on the CPU (faster training without a GPU)',
    detail: 'Installs @tensorflow/tfjs-node 4.22 (downloads TensorFlow, about 100 MB).',
  },
  {
    target: 'webgpu',
    label: 'WebGPU (train on any GPU: AMD, Intel, Apple, NVIDIA)',
    detail:
      'Installs webgpu 0.6.2 (Dawn, about 130 MB) and @tensorflow/tfjs-backend-webgpu 4.22 from npm. Needs a GPU driver with Vulkan (Linux), Metal (macOS) or Direct3D 12 (Windows); no CUDA.',
  },
  {
    target: 'onnx-cuda',
    label: 'ONNX Runtime CUDA provider (stylize on an NVIDIA GPU)',
    detail:
      "Downloads ONNX Runtime's CUDA provider from NuGet (about 400 MB). Needs an NVIDIA driver, CUDA 12 and cuDNN 9.",
  },
];

function describeFailures(checks: readonly PrerequisiteCheckInfo[]): string {
  return checks
    .filter((c) => !c.ok)
    .map((c) => c.message)
    .join(' ');
}

/**
 * A GPU setting from the user's own settings only: a workspace could otherwise choose the
 * binary that runs npm or where native code is downloaded from (the settings are also
 * machine-scoped and restricted in untrusted workspaces).
 */
function userSetting(config: vscode.WorkspaceConfiguration, key: string): string {
  const v = config.inspect<unknown>(key)?.globalValue;
  return typeof v === 'string' ? v.trim() : '';
}

/** Runs the command; resolves to true when the chosen runtime was installed and loads. */
export async function setUpGpuCommand(ctx: CommandContext, preset?: GpuTarget): Promise<boolean> {
  let target = preset;
  if (!target) {
    const pick = await vscode.window.showQuickPick(
      GPU_CHOICES.map((c) => ({ label: c.label, detail: c.detail, target: c.target })),
      { title: TITLE, placeHolder: 'What should be installed?' },
    );
    if (!pick) return false;
    target = pick.target;
  }
  const choice = GPU_CHOICES.find((c) => c.target === target)!;
  const config = vscode.workspace.getConfiguration('fastStyleTransfer');

  // 1. Prerequisites, each with its own message.
  let checks: readonly PrerequisiteCheckInfo[];
  try {
    const checking =
      target === 'webgpu'
        ? 'checking for a GPU driver'
        : target === 'tfjs-node'
          ? 'checking the platform'
          : 'checking the NVIDIA driver, CUDA and cuDNN';
    checks = (
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `${TITLE}: ${checking}…` },
        () => ctx.engine.request({ type: 'checkGpu', target: target! }),
      )
    ).checks;
  } catch (e) {
    void vscode.window.showErrorMessage(`Could not check the GPU prerequisites: ${messageOf(e)}`);
    return false;
  }
  for (const c of checks) ctx.log.info(`GPU setup check (${target}): ${c.ok ? 'ok' : 'MISSING'} — ${c.message}`);
  let force = false;
  if (checks.some((c) => !c.ok)) {
    const answer = await vscode.window.showWarningMessage(
      `${choice.label}: ${describeFailures(checks)}`,
      { modal: true },
      'Install Anyway',
      'Show Log',
    );
    if (answer === 'Show Log') ctx.log.show();
    if (answer !== 'Install Anyway') return false;
    force = true;
  }

  // 2. Install, with progress and Cancel.
  try {
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: TITLE, cancellable: true },
      (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        return ctx.engine.request(
          {
            type: 'setUpGpu',
            options: {
              target: target!,
              storageDir: ctx.storageDir,
              force,
              ...(userSetting(config, 'gpu.tfjsMirror') ? { tfjsMirror: userSetting(config, 'gpu.tfjsMirror') } : {}),
              ...(userSetting(config, 'gpu.libtensorflowUrl')
                ? { customLibtensorflow: userSetting(config, 'gpu.libtensorflowUrl') }
                : {}),
              ...(userSetting(config, 'gpu.nodePath') ? { node: userSetting(config, 'gpu.nodePath') } : {}),
            },
          },
          {
            signal: controller.signal,
            onProgress: (p) => {
              if (p.type === 'phase') progress.report({ message: p.message });
            },
          },
        );
      },
    );
  } catch (e) {
    if (codeOf(e) === 'cancelled') {
      void vscode.window.showInformationMessage('GPU setup cancelled; nothing was switched.');
      return false;
    }
    ctx.log.error(`GPU setup (${target}) failed: ${messageOf(e)}`);
    // A mirror helps only the TensorFlow downloads (the WebGPU packages come from the npm registry).
    const actions =
      codeOf(e) === 'network' && (target === 'tfjs-node-gpu' || target === 'tfjs-node')
        ? ['Set a Mirror…', 'Show Log']
        : ['Show Log'];
    const a = await vscode.window.showErrorMessage(`Could not set up ${choice.label}: ${messageOf(e)}`, ...actions);
    if (a === 'Show Log') ctx.log.show();
    if (a === 'Set a Mirror…')
      await vscode.commands.executeCommand('workbench.action.openSettings', 'fastStyleTransfer.gpu');
    return false;
  }

  // 3. Switch the engine and check that the runtime loads in the worker.
  if (target === 'onnx-cuda') {
    const r = await ctx.engine.request({ type: 'checkOnnxProvider', provider: 'cuda' });
    if (!r.ok) {
      void vscode.window.showErrorMessage(
        `The CUDA provider was installed but does not start: ${r.reason ?? 'unknown reason'}`,
      );
      return false;
    }
    // CUDA comes first among the providers the engine tries, so no setting needs to change.
    void vscode.window.showInformationMessage('ONNX Runtime now stylizes on the GPU (CUDA provider).');
    return true;
  }
  const previous = config.inspect<string>('trainingBackend')?.globalValue;
  await config.update('trainingBackend', target, vscode.ConfigurationTarget.Global);
  try {
    const r = await ctx.engine.request({ type: 'initBackend', preference: target });
    ctx.log.info(`training backend: ${r.label}`);
    void vscode.window.showInformationMessage(`${r.label} is set up; training uses it from now on.`);
    return true;
  } catch (e) {
    await config.update('trainingBackend', previous, vscode.ConfigurationTarget.Global);
    ctx.log.error(`${target} was installed but does not load: ${messageOf(e)}`);
    void vscode.window
      .showErrorMessage(
        `${choice.label} was installed but does not load, so training stays on its previous backend: ${messageOf(e)}`,
        'Show Log',
      )
      .then((a) => a && ctx.log.show());
    return false;
  }
}
