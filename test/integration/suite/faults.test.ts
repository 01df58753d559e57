// Faults in the real extension host: the engine worker killed mid-training (the command
// reports it, the last good checkpoint is listed and resumes), training cancelled before its
// first step (no error, nothing saved), a read-only output folder (a clear failure, the next
// stylize works), and two jobs at once (stylize while training). After each: no temp files in
// the extension's storage or the workspace, the workspace's originals byte-identical.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { StylizeResult, TrainResult } from '../../../src/protocol/jobs';
import { changedOriginals, hashTree, leftovers } from '../../helpers/leftovers';
import { api, udnieStyle, workspaceDir, useSharedVgg, resumeTwoMoreSteps, trainArgs } from './helpers';

/** A tiny training run of this many steps, without previews. */
const tinyRun = (name: string, iterations: number) => trainArgs(name, { iterations, previewEvery: 0 });

suite('faults', () => {
  let originals: Map<string, string>;
  let storage: string;

  suiteSetup(async () => {
    await useSharedVgg();
    const a = await api();
    storage = a.context.storageDir;
    originals = new Map(
      [...hashTree(workspaceDir())].filter(
        ([k]) => /^(gradient\.png|alpha\.png|photos\/|styles\/)/.test(k) && !/\.(udnie|starry)/i.test(k),
      ),
    );
    // Inputs of our own, so other suites' expectations about output names are not disturbed.
    fs.mkdirSync(path.join(workspaceDir(), 'faults'), { recursive: true });
    fs.copyFileSync(path.join(workspaceDir(), 'gradient.png'), path.join(workspaceDir(), 'faults', 'g.png'));
    fs.copyFileSync(path.join(workspaceDir(), 'alpha.png'), path.join(workspaceDir(), 'faults', 'a.png'));
  });

  teardown(() => {
    assert.deepEqual(
      leftovers([storage, workspaceDir()], [/\.partial$/]),
      [],
      'no temp files in the storage or the workspace',
    );
    assert.deepEqual(
      changedOriginals(originals, hashTree(workspaceDir())),
      [],
      'the workspace originals are unchanged',
    );
  });

  test('the worker killed mid-training: the command reports it, the last good checkpoint is listed and Resume continues it', async () => {
    const a = await api();
    const saved: number[] = [];
    const sub = a.training.onDidChange((s) => {
      if (s.lastCheckpointIteration !== undefined && !saved.includes(s.lastCheckpointIteration))
        saved.push(s.lastCheckpointIteration);
      if (saved.length >= 2 && s.iteration === saved[saved.length - 1] + 1) void a.engine.terminateWorker();
    });
    const r = await vscode.commands.executeCommand<TrainResult | undefined>(
      'fastStyleTransfer.train',
      tinyRun('Killed Starry', 400),
    );
    sub.dispose();
    assert.equal(r, undefined, 'the command reports a failure, not a result');
    assert.equal(a.training.current?.status, 'failed');
    assert.match(a.training.current?.error ?? '', /stopped unexpectedly/);
    await a.store.refresh();
    const style = a.store.all.find((s) => s.name === 'Killed Starry');
    assert.ok(style, 'the checkpoint is listed');
    assert.ok(saved.includes(style.iteration), `listed at iteration ${style.iteration}; saves seen ${saved}`);
    assert.equal(style.resumable, true);
    assert.equal(style.error, undefined);
    // Resume: a fresh worker continues from the checkpoint, two more steps.
    await resumeTwoMoreSteps(a, style.id, style.iteration);
  });

  test('training cancelled before its first step ends quietly and saves nothing', async () => {
    const a = await api();
    const sub = a.training.onDidChange((s) => {
      if (s.phase) a.training.requestCancel();
    });
    const r = await vscode.commands.executeCommand<TrainResult | undefined>(
      'fastStyleTransfer.train',
      tinyRun('Early Cancel', 50),
    );
    sub.dispose();
    assert.equal(r, undefined);
    assert.equal(a.training.current?.status, 'cancelled');
    assert.equal(a.training.current?.error, undefined, 'a cancel is not an error');
    await a.store.refresh();
    assert.equal(
      a.store.all.some((s) => s.name === 'Early Cancel'),
      false,
      'no checkpoint',
    );
  });

  test('a read-only output folder: the stylize command reports it clearly and the next stylize works', async () => {
    const a = await api();
    const id = await udnieStyle(a);
    const src = path.join(workspaceDir(), 'ro-src');
    const target = path.join(workspaceDir(), 'read-only-out');
    fs.mkdirSync(src, { recursive: true });
    fs.mkdirSync(target, { recursive: true });
    // A real read-only bind mount where allowed (root on Linux); otherwise a path under a file, which no one can write either.
    const mounted =
      process.platform === 'linux' &&
      process.getuid?.() === 0 &&
      spawnSync('mount', ['--bind', src, target]).status === 0 &&
      (spawnSync('mount', ['-o', 'remount,bind,ro', target]).status === 0 || (spawnSync('umount', [target]), false));
    const outDir = mounted ? target : path.join(workspaceDir(), 'gradient.png', 'out');
    const config = vscode.workspace.getConfiguration('fastStyleTransfer');
    await config.update('outputFolder', outDir, vscode.ConfigurationTarget.Workspace);
    try {
      const input = path.join(workspaceDir(), 'faults', 'a.png');
      const r = await vscode.commands.executeCommand<StylizeResult>('fastStyleTransfer.stylizeWithStyle', id, [
        vscode.Uri.file(input),
      ]);
      assert.ok(r, 'a result, not an exception');
      assert.equal(r.outputs.length, 0);
      assert.equal(r.failures[0]?.error.code, 'io');
      assert.match(r.failures[0].error.message, mounted ? /read-only file system/ : /is a file, not a folder/);
      if (mounted) assert.deepEqual(fs.readdirSync(target), []);
    } finally {
      await config.update('outputFolder', undefined, vscode.ConfigurationTarget.Workspace);
      if (mounted) spawnSync('umount', [target]);
      fs.rmSync(src, { recursive: true, force: true });
      fs.rmSync(target, { recursive: true, force: true });
    }
    const again = await vscode.commands.executeCommand<StylizeResult>('fastStyleTransfer.stylizeWithStyle', id, [
      vscode.Uri.file(path.join(workspaceDir(), 'faults', 'a.png')),
    ]);
    assert.equal(again.outputs.length, 1, JSON.stringify(again.failures));
  });

  test('settings of the wrong type (hand-edited settings.json) fall back to their defaults', async () => {
    const a = await api();
    const id = await udnieStyle(a);
    const config = vscode.workspace.getConfiguration('fastStyleTransfer');
    const wrong: Record<string, unknown> = {
      outputFolder: 42,
      strength: 'strong',
      outputFormat: ['png'],
      maxInputMegapixels: 'lots',
      openResult: 'no',
    };
    try {
      for (const [k, v] of Object.entries(wrong)) await config.update(k, v, vscode.ConfigurationTarget.Workspace);
      assert.equal(
        vscode.workspace.getConfiguration('fastStyleTransfer').get('outputFolder'),
        42,
        'the wrong value is really in effect',
      );
      const s = a.context.settings();
      assert.deepEqual(
        [s.outputFolder, s.strength, s.outputFormat, s.maxInputMegapixels, s.openResult],
        ['', 1, 'same', 100, true],
      );
      const r = await vscode.commands.executeCommand<StylizeResult>('fastStyleTransfer.stylizeWithStyle', id, [
        vscode.Uri.file(path.join(workspaceDir(), 'faults', 'a.png')),
      ]);
      assert.equal(r?.outputs.length, 1, JSON.stringify(r?.failures));
    } finally {
      for (const k of Object.keys(wrong)) await config.update(k, undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  test('stylize while training runs: both finish correctly', async () => {
    const a = await api();
    const id = await udnieStyle(a);
    let stylized: Promise<StylizeResult | undefined> | undefined;
    let startedAt = -1;
    const sub = a.training.onDidChange((s) => {
      if (!stylized && s.iteration >= 2) {
        startedAt = s.iteration;
        stylized = Promise.resolve(
          vscode.commands.executeCommand<StylizeResult>('fastStyleTransfer.stylizeWithStyle', id, [
            vscode.Uri.file(path.join(workspaceDir(), 'faults', 'g.png')),
          ]),
        );
      }
    });
    const r = await vscode.commands.executeCommand<TrainResult>('fastStyleTransfer.train', tinyRun('Busy Starry', 16));
    sub.dispose();
    assert.ok(stylized, `a stylize was started at iteration ${startedAt}`);
    const s = await stylized;
    assert.equal(r.iterations, 16);
    assert.equal(s?.outputs.length, 1, JSON.stringify(s?.failures));
    assert.ok(fs.statSync(s!.outputs[0].output).size > 100);
    await a.store.refresh();
    assert.equal(a.store.find(r.checkpoint)?.iteration, 16);
  });
});
