// Stylize in the real extension host: a fixture image produces its output file, the engine
// worker survives a crash, and the host never loads the heavy libraries.
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { StylizeResult } from '../../../src/protocol/jobs';
import { api, udnieStyle, workspaceDir, SHARED_DATA } from './helpers';

const hash = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

suite('stylize', () => {
  test('Import Style… adds udnie to the store and the Styles view data', async () => {
    const a = await api();
    const id = await udnieStyle(a);
    const s = a.store.find(id);
    assert.ok(s, 'imported style listed');
    assert.equal(s.origin, 'imported');
    assert.ok(fs.existsSync(path.join(id, 'weights.bin')));
  });

  test('Stylize with… on a fixture image writes name.<style>.png beside it and leaves the original alone', async () => {
    const a = await api();
    const id = await udnieStyle(a);
    const style = a.store.find(id)!;
    const input = path.join(workspaceDir(), 'gradient.png');
    const before = hash(input);
    const r = await vscode.commands.executeCommand<StylizeResult>('fastStyleTransfer.stylizeWithStyle', id, [vscode.Uri.file(input)]);
    assert.ok(r, 'a result');
    assert.equal(r.failures.length, 0, JSON.stringify(r.failures));
    assert.equal(r.outputs.length, 1);
    assert.equal(r.outputs[0].output, path.join(workspaceDir(), `gradient.${style.name}.png`));
    assert.ok(fs.statSync(r.outputs[0].output).size > 100);
    assert.notEqual(hash(r.outputs[0].output), before);
    assert.equal(hash(input), before, 'original untouched');
    // Again: a new name, never an overwrite.
    const r2 = await vscode.commands.executeCommand<StylizeResult>('fastStyleTransfer.stylizeWithStyle', id, [vscode.Uri.file(input)]);
    assert.equal(r2.outputs[0].output, path.join(workspaceDir(), `gradient.${style.name}-2.png`));
  });

  test('a folder and a multi-selection stylize every image, and a corrupt file is reported, not fatal', async () => {
    const a = await api();
    const id = await udnieStyle(a);
    const dir = path.join(workspaceDir(), 'batch');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(workspaceDir(), 'gradient.png'), path.join(dir, 'a.png'));
    fs.copyFileSync(path.join(workspaceDir(), 'photos', 'coffee.jpg'), path.join(dir, 'b.jpg'));
    fs.writeFileSync(path.join(dir, 'broken.png'), Buffer.from('not a png'));
    const r = await vscode.commands.executeCommand<StylizeResult>('fastStyleTransfer.stylizeWithStyle', id, [vscode.Uri.file(dir)]);
    assert.equal(r.outputs.length, 2);
    assert.equal(r.failures.length, 1);
    assert.match(r.failures[0].error.message, /broken\.png/);
    assert.ok(fs.existsSync(path.join(dir, 'b.udnie.jpg')), 'JPEG input gives JPEG output');
  });

  test('a crashed worker fails its job with a clear error and the next job gets a fresh worker', async () => {
    const a = await api();
    const id = await udnieStyle(a);
    const big = path.join(workspaceDir(), 'big.png');
    // A large image keeps the worker busy long enough to kill it mid-job.
    fs.copyFileSync(path.join(SHARED_DATA, 'reference', 'stata.jpg'), path.join(workspaceDir(), 'stata.jpg'));
    const job = a.engine.request({ type: 'stylize', inputs: [path.join(workspaceDir(), 'stata.jpg')], style: id, options: { runtime: 'tfjs' } }, {
      onProgress: () => setTimeout(() => void a.engine.terminateWorker(), 300),
    });
    await assert.rejects(job, /stopped unexpectedly.*fresh engine/);
    assert.ok(!fs.readdirSync(workspaceDir()).some((f) => f.startsWith('stata.udnie')), 'no partial output');
    const r = await vscode.commands.executeCommand<StylizeResult>('fastStyleTransfer.stylizeWithStyle', id, [vscode.Uri.file(path.join(workspaceDir(), 'gradient.png'))]);
    assert.equal(r.outputs.length, 1);
    assert.ok(!fs.existsSync(big));
  });

  test('the extension host never loads tfjs, ONNX Runtime or sharp', async () => {
    await api();
    const heavy = /[\\/](@tensorflow|onnxruntime-node|onnxruntime-common|sharp|@img)[\\/]/;
    const loaded = Object.keys(require.cache).filter((k) => heavy.test(k));
    assert.deepEqual(loaded, []);
    const ext = vscode.extensions.getExtension('fast-style-transfer.fast-style-transfer')!;
    const bundle = fs.readFileSync(path.join(ext.extensionPath, 'dist', 'extension.js'), 'utf8');
    for (const marker of ['tfjs-core', 'onnxruntime', 'require("sharp")', 'registerKernel']) assert.ok(!bundle.includes(marker), `dist/extension.js contains ${marker}`);
  });
});
