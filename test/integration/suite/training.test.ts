// Training in the real extension host: a tiny run produces a checkpoint that the Styles view
// lists; Cancel stops a run and keeps a loadable checkpoint; Resume continues it.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TrainResult } from '../../../src/protocol/jobs';
import { api, workspaceDir, useSharedVgg, resumeTwoMoreSteps, trainArgs, VGG_PATH } from './helpers';

suite('training', () => {
  suiteSetup(async () => {
    await useSharedVgg();
  });

  test('Train a Style with a tiny preset produces a checkpoint and the Styles view lists it', async () => {
    const a = await api();
    const phases: string[] = [];
    const sub = a.training.onDidChange((s) => {
      if (s.phase && phases[phases.length - 1] !== s.phase) phases.push(s.phase);
    });
    const r = await vscode.commands.executeCommand<TrainResult>(
      'fastStyleTransfer.train',
      trainArgs('Tiny Starry', { iterations: 6 }),
    );
    assert.ok(r, 'training returned a result');
    assert.equal(r.cancelled, false);
    assert.equal(r.iterations, 6);
    for (const f of [
      'style.json',
      'model.json',
      'weights.bin',
      'thumbnail.jpg',
      'training-state.json',
      'optimizer.bin',
    ])
      assert.ok(fs.existsSync(path.join(r.checkpoint, f)), f);
    const s = a.store.find(r.checkpoint);
    assert.ok(s, 'listed in the store');
    assert.equal(s.name, 'Tiny Starry');
    assert.equal(s.iteration, 6);
    assert.equal(s.resumable, true);
    assert.ok(s.thumbnail);
    const snap = a.training.current!;
    assert.equal(snap.status, 'done');
    assert.ok(snap.losses.length >= 6);
    assert.ok(snap.preview && snap.preview.bytes.length > 0, 'a preview image arrived');
    sub.dispose();
    // trainingBackend 'auto' (the default) runs the steps on ONNX Runtime here (wasm is the tfjs
    // backend, which the ONNX Runtime step beats), and the progress says so.
    assert.ok(
      phases.some((p) => p === 'Training 6 steps on ONNX Runtime (CPU)…'),
      phases.join(' | '),
    );
    assert.equal(JSON.parse(fs.readFileSync(path.join(r.checkpoint, 'style.json'), 'utf8')).backend, 'onnx');
  });

  test('Train a Style on trainingBackend onnx (Quick preset) runs every step on ONNX Runtime in the worker', async () => {
    const a = await api();
    const config = vscode.workspace.getConfiguration('fastStyleTransfer');
    await config.update('trainingBackend', 'onnx', vscode.ConfigurationTarget.Global);
    try {
      const r = await vscode.commands.executeCommand<TrainResult>(
        'fastStyleTransfer.train',
        trainArgs('Tiny Starry ONNX', { iterations: 6, batchSize: 2 }),
      );
      assert.equal(r.cancelled, false);
      assert.equal(r.iterations, 6);
      const style = JSON.parse(fs.readFileSync(path.join(r.checkpoint, 'style.json'), 'utf8'));
      assert.equal(style.backend, 'onnx');
      assert.equal(style.lossHistory.length, 6);
      assert.ok(style.lossHistory.every((l: { total: number }) => Number.isFinite(l.total) && l.total > 0));
      assert.equal(a.training.current?.status, 'done');
      assert.equal(a.store.find(r.checkpoint)?.resumable, true);
    } finally {
      await config.update('trainingBackend', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  test('Cancel stops training and keeps a checkpoint that Resume continues', async () => {
    const a = await api();
    let cancelled = false;
    const sub = a.training.onDidChange((s) => {
      if (!cancelled && s.lastCheckpointIteration === 2) {
        cancelled = true;
        a.training.requestCancel();
      }
    });
    const r = await vscode.commands.executeCommand<TrainResult>(
      'fastStyleTransfer.train',
      trainArgs('Cancelled Starry', { iterations: 200 }),
    );
    sub.dispose();
    assert.equal(r.cancelled, true);
    assert.ok(r.iterations >= 2 && r.iterations < 200, `stopped at ${r.iterations}`);
    const style = JSON.parse(fs.readFileSync(path.join(r.checkpoint, 'style.json'), 'utf8'));
    assert.equal(style.iteration, r.iterations, 'the checkpoint holds the last completed step');
    assert.equal(a.training.current?.status, 'cancelled');
    // Resume to 2 more steps than it had.
    await resumeTwoMoreSteps(a, r.checkpoint, r.iterations);
  });
});

suite('stylize with any image', () => {
  test('the optimisation method writes a stylized image beside the photo', async () => {
    await api();
    const r = await vscode.commands.executeCommand<{
      output?: string;
      steps: number;
      initialLosses: { total: number };
      finalLosses: { total: number };
    }>('fastStyleTransfer.stylizeAnyImage', undefined, {
      image: path.join(workspaceDir(), 'gradient.png'),
      styleImage: path.join(workspaceDir(), 'styles', 'starry_night.jpg'),
      vggPath: VGG_PATH,
      size: 48,
      steps: 8,
    });
    assert.ok(r?.output, 'an output was written');
    assert.ok(fs.existsSync(r.output));
    assert.equal(path.dirname(r.output), workspaceDir());
    assert.ok(r.finalLosses.total < r.initialLosses.total);
  });
});
