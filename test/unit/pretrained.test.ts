// Download Pretrained Styles: every file fetched from the source and checked against its
// recorded SHA-256, then imported; a tampered file or an unreachable source is one clear error
// and leaves nothing behind. The source is a local server here (no internet in tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runJob } from '../../src/engine/jobs';
import { listPretrainedStyles } from '../../src/engine/pretrained';
import { readCheckpoint } from '../../src/io/checkpoint';
import { StyleTransferError } from '../../src/protocol/errors';
import { DEFAULT_MAX_INPUT_PIXELS, type EngineSettings } from '../../src/protocol/jobs';
import { hasSharedData, shared, tempDir } from '../helpers/paths';

const settings: EngineSettings = {
  trainingBackend: 'cpu',
  stylizeRuntime: 'auto',
  threads: 0,
  cacheDir: tempDir(),
  extraModuleRoots: [],
  maxInputPixels: DEFAULT_MAX_INPUT_PIXELS,
};

async function serve(root: string, tamper?: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    const file = path.join(root, rel);
    if (!file.startsWith(root) || !fs.existsSync(file)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    let body = fs.readFileSync(file);
    if (tamper && rel.endsWith(tamper)) {
      body = Buffer.from(body);
      body[0] ^= 0xff;
    }
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const leftovers = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('fst-pretrained-'));

test('the catalogue lists the public styles with their original URLs', () => {
  const list = listPretrainedStyles();
  assert.deepEqual(list.map((s) => s.id).sort(), ['mathura', 'matilde_perez', 'udnie']);
  for (const s of list)
    assert.match(
      s.url,
      /^https:\/\/raw\.githubusercontent\.com\/ml5js\/ml5-data-and-models\/main\/models\/style-transfer\//,
    );
});

test('a verified download is imported as a checkpoint that loads', async (t) => {
  if (!hasSharedData(t)) return;
  const server = await serve(shared('pretrained'));
  const before = leftovers();
  try {
    const target = path.join(tempDir('fst-pre-'), 'mathura');
    const progress: number[] = [];
    const r = await runJob({ type: 'downloadPretrained', id: 'mathura', target, baseUrl: server.url }, settings, {
      progress: (p) => {
        if (p.type === 'download') progress.push(p.bytes);
      },
    });
    assert.equal(r.name, 'Mathura');
    const ck = await readCheckpoint(target);
    assert.equal(ck.info.source.kind, 'imported');
    assert.equal(progress.at(-1), 49);
    assert.deepEqual(leftovers(), before, 'the temporary download folder is removed');
  } finally {
    await server.close();
  }
});

test('a tampered file or an unreachable source fails with one clear error and leaves nothing', async (t) => {
  if (!hasSharedData(t)) return;
  const server = await serve(shared('pretrained'), 'Variable_7');
  const before = leftovers();
  const target = path.join(tempDir('fst-pre-'), 'udnie');
  try {
    await assert.rejects(
      runJob({ type: 'downloadPretrained', id: 'udnie', target, baseUrl: server.url }, settings, {}),
      (e: unknown) =>
        e instanceof StyleTransferError &&
        e.code === 'network' &&
        /Variable_7/.test(e.message) &&
        /(checksum|SHA-256|sha256)/i.test(e.message),
    );
  } finally {
    await server.close();
  }
  await assert.rejects(
    runJob({ type: 'downloadPretrained', id: 'udnie', target, baseUrl: server.url }, settings, {}),
    (e: unknown) => e instanceof StyleTransferError && e.code === 'network',
  );
  assert.ok(!fs.existsSync(target));
  assert.deepEqual(leftovers(), before);
});
