// The VGG download path against a local HTTP server on 127.0.0.1 (no internet here).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { VGG19_SOURCES, downloadFile, downloadVgg19 } from '../../src/io/download';
import { rejectsWith } from '../helpers/errors';
import { tempDir } from '../helpers/paths';

const BODY = crypto.randomBytes(300_000);
const SHA = crypto.createHash('sha256').update(BODY).digest('hex');
const MD5 = crypto.createHash('md5').update(BODY).digest('hex');

interface Seen {
  url: string;
  range?: string;
}
const seen: Seen[] = [];

/** Routes: /file (honours Range), /norange, /drop (closes after 120 kB), /slow, /stall, /redirect, /evil-redirect, anything else 404. */
const server = http.createServer((req, res) => {
  seen.push({ url: req.url ?? '', range: req.headers.range });
  const send = (body: Buffer, chunk = 16_384, delayMs = 0, dropAfter?: number) => {
    let at = 0;
    const step = () => {
      if (dropAfter !== undefined && at >= dropAfter) {
        res.socket?.destroy();
        return;
      }
      if (at >= body.length) {
        res.end();
        return;
      }
      res.write(body.subarray(at, Math.min(body.length, at + chunk)));
      at += chunk;
      if (delayMs) setTimeout(step, delayMs);
      else setImmediate(step);
    };
    step();
  };
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  /** The rest of BODY from the requested byte on (206 Partial Content). */
  const sendRange = (from: number) => {
    res.writeHead(206, {
      'content-length': BODY.length - from,
      'content-range': `bytes ${from}-${BODY.length - 1}/${BODY.length}`,
    });
    send(BODY.subarray(from));
  };
  switch (req.url) {
    case '/file':
    case '/drop-then-ok': {
      if (range && req.url === '/file') {
        sendRange(Number(range[1]));
      } else {
        res.writeHead(200, { 'content-length': BODY.length });
        send(BODY);
      }
      return;
    }
    case '/norange':
      res.writeHead(200, { 'content-length': BODY.length });
      send(BODY);
      return;
    case '/drop': {
      if (range) {
        sendRange(Number(range[1]));
      } else {
        res.writeHead(200, { 'content-length': BODY.length });
        send(BODY, 16_384, 0, 120_000);
      }
      return;
    }
    case '/slow':
      res.writeHead(200, { 'content-length': BODY.length });
      send(BODY, 8192, 20);
      return;
    case '/stall':
      res.writeHead(200, { 'content-length': BODY.length });
      res.write(BODY.subarray(0, 1000));
      return; // and never another byte
    case '/redirect':
      res.writeHead(302, { location: '/file' });
      res.end();
      return;
    case '/evil-redirect':
      res.writeHead(301, { location: 'http://example.com/vgg.mat' });
      res.end();
      return;
    default:
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not here');
  }
});
const base = new Promise<string>((resolve) =>
  server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
);
after(() => server.close());

function leftovers(dir: string): string[] {
  return fs.readdirSync(dir);
}

test('downloads with progress, verifies SHA-256, renames into place; a second call is served from the cache', async () => {
  const url = `${await base}/file`;
  const dir = tempDir();
  const dest = path.join(dir, 'sub', 'vgg.mat');
  const events: [number, number | undefined][] = [];
  const r = await downloadFile(url, dest, {
    sha256: SHA,
    progressIntervalMs: 0,
    onProgress: (b, t) => events.push([b, t]),
  });
  assert.deepEqual(r, { path: dest, bytes: BODY.length, cached: false, resumed: false, sha256: SHA });
  assert.ok(fs.readFileSync(dest).equals(BODY));
  assert.ok(events.length > 5, `${events.length} progress events`);
  assert.deepEqual(events[0], [0, BODY.length]);
  assert.deepEqual(events[events.length - 1], [BODY.length, BODY.length]);
  for (let i = 1; i < events.length; i++) assert.ok(events[i][0] >= events[i - 1][0], 'progress never goes back');
  assert.deepEqual(leftovers(path.dirname(dest)), ['vgg.mat']);

  const requests = seen.length;
  const again = await downloadFile(url, dest, { sha256: SHA, md5: MD5 });
  assert.equal(again.cached, true);
  assert.equal(seen.length, requests, 'a cached file makes no request');
});

test('a checksum mismatch is a network error and leaves nothing behind', async () => {
  const dir = tempDir();
  const dest = path.join(dir, 'vgg.mat');
  const wrong = '0'.repeat(64);
  await rejectsWith(
    downloadFile(`${await base}/file`, dest, { sha256: wrong }),
    'network',
    new RegExp(`is corrupt: SHA-256 ${SHA}, expected 0{64}; the file was discarded`),
  );
  assert.deepEqual(leftovers(dir), []);
  // The known MatConvNet source is checked by its published MD5 (a local file is not that file).
  await rejectsWith(
    downloadVgg19(dir, { url: `${await base}/file` }),
    'network',
    new RegExp(`MD5 ${MD5}, expected ${VGG19_SOURCES.matconvnet.md5}`),
  );
  assert.deepEqual(leftovers(dir), []);
});

test('HTTP errors, non-HTTPS URLs, unsafe redirects and missing checksums are refused clearly', async () => {
  const dir = tempDir();
  const dest = path.join(dir, 'vgg.mat');
  await rejectsWith(
    downloadFile(`${await base}/missing`, dest, { sha256: SHA }),
    'network',
    /failed: HTTP 404 Not Found/,
  );
  await rejectsWith(
    downloadFile('http://example.com/vgg.mat', dest, { sha256: SHA }),
    'bad-input',
    /only https:\/\/ URLs are allowed/,
  );
  await rejectsWith(
    downloadFile(`${await base}/evil-redirect`, dest, { sha256: SHA }),
    'bad-input',
    /refusing to download from http:\/\/example\.com\/vgg\.mat/,
  );
  await rejectsWith(downloadFile(`${await base}/file`, dest, {}), 'bad-input', /without a checksum/);
  await rejectsWith(
    downloadFile(`${await base}/file`, dest, { sha256: 'abc' }),
    'bad-input',
    /sha256 must be 64 hex digits/,
  );
  assert.deepEqual(leftovers(dir), []);
  const ok = await downloadFile(`${await base}/redirect`, dest, { sha256: SHA });
  assert.equal(ok.bytes, BODY.length, 'same-host redirects are followed');
});

test('a connection dropped mid-file keeps the partial bytes; the next call resumes with a Range request', async () => {
  const dir = tempDir();
  const dest = path.join(dir, 'vgg.mat');
  const url = `${await base}/drop`;
  await rejectsWith(
    downloadFile(url, dest, { sha256: SHA }),
    'network',
    /the connection closed after \d+ of 300000 bytes; run it again to resume/,
  );
  assert.ok(!fs.existsSync(dest), 'nothing under the final name');
  const partial = fs.statSync(`${dest}.partial`).size;
  assert.ok(partial > 0 && partial < BODY.length, `partial ${partial}`);

  const events: number[] = [];
  const before = seen.length;
  const r = await downloadFile(url, dest, { sha256: SHA, progressIntervalMs: 0, onProgress: (b) => events.push(b) });
  assert.equal(r.resumed, true);
  assert.equal(seen[before].range, `bytes=${partial}-`);
  assert.equal(events[0], partial, 'progress counts the bytes already there');
  assert.ok(fs.readFileSync(dest).equals(BODY));
  assert.deepEqual(leftovers(dir), ['vgg.mat']);
});

test('a server that ignores Range restarts the download from scratch and it still verifies', async () => {
  const dir = tempDir();
  const dest = path.join(dir, 'vgg.mat');
  fs.writeFileSync(`${dest}.partial`, BODY.subarray(0, 1000));
  const r = await downloadFile(`${await base}/norange`, dest, { md5: MD5 });
  assert.equal(r.resumed, false);
  assert.ok(fs.readFileSync(dest).equals(BODY));
  assert.deepEqual(leftovers(dir), ['vgg.mat']);
});

test('cancelling with an AbortSignal stops at once, keeps the partial file, and a later call finishes it', async () => {
  const dir = tempDir();
  const dest = path.join(dir, 'vgg.mat');
  const controller = new AbortController();
  let events = 0;
  await rejectsWith(
    downloadFile(`${await base}/slow`, dest, {
      sha256: SHA,
      progressIntervalMs: 0,
      signal: controller.signal,
      onProgress: (b) => {
        events++;
        if (b > 20_000) controller.abort();
      },
    }),
    'cancelled',
    /download cancelled/,
  );
  assert.ok(!fs.existsSync(dest));
  const partial = fs.statSync(`${dest}.partial`).size;
  assert.ok(partial > 20_000 && partial < BODY.length, `partial ${partial} after ${events} events`);
  await rejectsWith(
    downloadFile(`${await base}/slow`, dest, { sha256: SHA, signal: AbortSignal.abort() }),
    'cancelled',
    /cancelled/,
  );
  const r = await downloadFile(`${await base}/file`, dest, { sha256: SHA });
  assert.equal(r.resumed, true);
  assert.ok(fs.readFileSync(dest).equals(BODY));
});

test('a stalled connection times out (partial kept); a stale partial from another file is discarded on mismatch', async () => {
  const dir = tempDir();
  const dest = path.join(dir, 'vgg.mat');
  await rejectsWith(
    downloadFile(`${await base}/stall`, dest, { sha256: SHA, idleTimeoutMs: 150 }),
    'network',
    /stalled: no data for 150 ms \(1000 bytes so far; run it again to resume\)/,
  );
  assert.equal(fs.statSync(`${dest}.partial`).size, 1000);
  fs.writeFileSync(`${dest}.partial`, Buffer.alloc(5000, 7)); // not the start of BODY
  await rejectsWith(
    downloadFile(`${await base}/file`, dest, { sha256: SHA }),
    'network',
    /is corrupt: SHA-256 [0-9a-f]{64}, expected/,
  );
  assert.deepEqual(leftovers(dir), []);
  assert.equal((await downloadFile(`${await base}/file`, dest, { sha256: SHA })).resumed, false);
});

test('the known VGG19 source is HTTPS with a published checksum; unknown hashes are marked as such', () => {
  const src = VGG19_SOURCES.matconvnet;
  assert.match(src.url, /^https:\/\/www\.vlfeat\.org\/matconvnet\/models\/beta16\/imagenet-vgg-verydeep-19\.mat$/);
  assert.match(src.md5, /^[0-9a-f]{32}$/);
  assert.equal(src.sha256, null, 'no SHA-256 is published; it must stay unknown until one is verified');
});
