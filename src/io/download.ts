// Downloads a large file (the full VGG19 weights) on a user's machine: HTTPS only, progress
// events, checksum verified before the file appears under its name (temp file + rename),
// cached (a file already there with the right checksum is not fetched again), cancellable
// with an AbortSignal and resumable: after a cancel or a dropped connection the bytes so far
// stay in `<dest>.partial` and the next call asks the server for the rest (HTTP Range).
// A checksum mismatch leaves nothing behind.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { StyleTransferError, cancelledError } from '../protocol/errors';
import { retryWhileBusy } from '../shared/busyRetry';

/**
 * Known sources of the full VGG19. The MatConvNet file is the one the reference implementation
 * downloads (its setup.sh uses the beta16 URL). Its MD5 is published by the projects that use
 * it (e.g. anishathalye/neural-style's README: 8ee3263992981a1d26e73b3ca028a123); no SHA-256
 * or byte size is published anywhere we could check, so those stay UNKNOWN (null) and the
 * download is verified by the MD5 — a fixed published digest, which needs a second preimage
 * (not a mere collision) to fake. The SHA-256 printed after a verified download can be
 * recorded here later.
 */
export const VGG19_SOURCES = Object.freeze({
  matconvnet: Object.freeze({
    url: 'https://www.vlfeat.org/matconvnet/models/beta16/imagenet-vgg-verydeep-19.mat',
    fileName: 'imagenet-vgg-verydeep-19.mat',
    md5: '8ee3263992981a1d26e73b3ca028a123',
    /** UNKNOWN: not published; verified by md5 instead. */
    sha256: null as string | null,
    /** UNKNOWN (about 0.55 GB). */
    bytes: null as number | null,
  }),
});

export interface DownloadOptions {
  /** Expected SHA-256 (hex). At least one of sha256/md5 is required: unverified downloads are refused. */
  readonly sha256?: string;
  /** Expected MD5 (hex), for sources that publish only that. */
  readonly md5?: string;
  /** Called with bytes received so far (including resumed bytes) and the total when known. */
  readonly onProgress?: (bytes: number, total: number | undefined) => void;
  /** Minimum milliseconds between progress calls (default 200; the first and last are always sent). */
  readonly progressIntervalMs?: number;
  readonly signal?: AbortSignal;
  /** Give up when no data arrives for this long (default 60 s). */
  readonly idleTimeoutMs?: number;
  /** Refuse responses larger than this (default 4 GiB). */
  readonly maxBytes?: number;
}

export interface DownloadResult {
  readonly path: string;
  readonly bytes: number;
  /** True when the file was already there with the right checksum and nothing was fetched. */
  readonly cached: boolean;
  /** True when an earlier partial download was continued. */
  readonly resumed: boolean;
  readonly sha256: string;
}

const MAX_REDIRECTS = 5;

/** HTTPS anywhere; plain HTTP only to 127.0.0.1 (local test servers). */
function checkUrl(u: string): URL {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    throw new StyleTransferError('bad-input', `not a valid URL: ${u}`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && url.hostname === '127.0.0.1') return url;
  throw new StyleTransferError('bad-input', `refusing to download from ${u}: only https:// URLs are allowed`);
}

function normaliseHex(h: string | undefined, bytes: number, what: string): string | undefined {
  if (h === undefined) return undefined;
  const s = h.trim().toLowerCase();
  if (!new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(s))
    throw new StyleTransferError('bad-input', `${what} must be ${bytes * 2} hex digits, got "${h}"`);
  return s;
}

interface Hashers {
  sha256: crypto.Hash;
  md5: crypto.Hash;
}

function newHashers(): Hashers {
  return { sha256: crypto.createHash('sha256'), md5: crypto.createHash('md5') };
}

async function hashFile(file: string, h: Hashers): Promise<number> {
  let n = 0;
  for await (const chunk of fs.createReadStream(file)) {
    h.sha256.update(chunk as Buffer);
    h.md5.update(chunk as Buffer);
    n += (chunk as Buffer).length;
  }
  return n;
}

async function fileHashes(file: string): Promise<{ sha256: string; md5: string; bytes: number } | undefined> {
  try {
    // A FIFO or a link to a device in the cache would block the hash forever.
    const st = await fsp.stat(file);
    if (!st.isFile()) throw new StyleTransferError('io', `${file} is not a regular file; remove it and download again`);
    const h = newHashers();
    const bytes = await hashFile(file, h);
    return { sha256: h.sha256.digest('hex'), md5: h.md5.digest('hex'), bytes };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (e instanceof StyleTransferError) throw e;
    throw new StyleTransferError('io', `cannot read ${file} (${(e as Error).message})`);
  }
}

function matches(h: { sha256: string; md5: string }, sha256?: string, md5?: string): boolean {
  return (sha256 === undefined || h.sha256 === sha256) && (md5 === undefined || h.md5 === md5);
}

/** One GET; follows redirects (each must pass checkUrl). */
function request(
  url: URL,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
  redirects = 0,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.get(url, { headers, signal }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) {
          reject(new StyleTransferError('network', `too many redirects downloading ${url.href}`));
          return;
        }
        let next: URL;
        try {
          next = checkUrl(new URL(res.headers.location, url).href);
        } catch (e) {
          reject(e);
          return;
        }
        request(next, headers, signal, redirects + 1).then(resolve, reject);
        return;
      }
      resolve(res);
    });
    req.on('error', (e) => reject(signal?.aborted ? cancelledError('download') : networkError(url, e)));
  });
}

function networkError(url: URL, e: Error): StyleTransferError {
  const code = (e as NodeJS.ErrnoException).code;
  return new StyleTransferError('network', `download of ${url.href} failed: ${code ? `${code} ` : ''}${e.message}`);
}

/**
 * Downloads `url` to `dest` and verifies it. Resolves once `dest` holds the verified file;
 * rejects with StyleTransferError 'network' (HTTP error, dropped connection, checksum
 * mismatch), 'cancelled', 'bad-input' (URL or checksum missing/invalid) or 'io'.
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const start = checkUrl(url);
  const sha256 = normaliseHex(options.sha256, 32, 'sha256');
  const md5 = normaliseHex(options.md5, 16, 'md5');
  if (!sha256 && !md5)
    throw new StyleTransferError(
      'bad-input',
      `refusing to download ${url} without a checksum to verify it (pass sha256 or md5)`,
    );
  const { signal } = options;
  if (signal?.aborted) throw cancelledError('download');

  // Cached: already there and verified → no request at all.
  const existing = await fileHashes(dest);
  if (existing && matches(existing, sha256, md5)) {
    return { path: dest, bytes: existing.bytes, cached: true, resumed: false, sha256: existing.sha256 };
  }

  await fsp.mkdir(path.dirname(dest), { recursive: true });
  const partial = `${dest}.partial`;
  const hashers = newHashers();
  let have = 0;
  try {
    have = (await fsp.stat(partial)).size;
  } catch {
    have = 0;
  }
  if (have > 0) await hashFile(partial, hashers);

  const res = await request(start, have > 0 ? { Range: `bytes=${have}-` } : {}, signal);
  const status = res.statusCode ?? 0;
  let resumed = false;
  let total: number | undefined;
  const length = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
  if (status === 206 && have > 0) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    if (!range || Number(range[1]) !== have) {
      res.resume();
      await fsp.rm(partial, { force: true });
      throw new StyleTransferError(
        'network',
        `download of ${url}: the server resumed at the wrong offset (${res.headers['content-range'] ?? 'no Content-Range'}); the partial file was discarded, try again`,
      );
    }
    resumed = true;
    total = range[3] !== '*' ? Number(range[3]) : undefined;
  } else if (status === 200) {
    // Full body (no partial, or the server ignores Range): start over.
    if (have > 0) {
      have = 0;
      hashers.sha256 = crypto.createHash('sha256');
      hashers.md5 = crypto.createHash('md5');
    }
    total = length;
  } else {
    res.resume();
    if (status === 416 && have > 0) await fsp.rm(partial, { force: true });
    throw new StyleTransferError(
      'network',
      `download of ${url} failed: HTTP ${status} ${res.statusMessage ?? ''}`.trim(),
    );
  }
  const maxBytes = options.maxBytes ?? 4 * 1024 ** 3;
  if (total !== undefined && total > maxBytes) {
    res.resume();
    throw new StyleTransferError('network', `download of ${url}: ${total} bytes is more than the ${maxBytes} allowed`);
  }

  const out = fs.createWriteStream(partial, { flags: resumed ? 'a' : 'w' });
  let received = have;
  let lastReport = -Infinity;
  const interval = options.progressIntervalMs ?? 200;
  const report = (force: boolean) => {
    const now = Date.now();
    if (options.onProgress && (force || now - lastReport >= interval)) {
      lastReport = now;
      options.onProgress(received, total);
    }
  };
  report(true);

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        res.destroy();
        // Keep what arrived for the next call to resume.
        out.end(() => reject(err));
      } else {
        out.end(() => resolve());
      }
    };
    let idle: NodeJS.Timeout | undefined;
    const resetIdle = () => {
      clearTimeout(idle);
      const ms = options.idleTimeoutMs ?? 60_000;
      idle = setTimeout(
        () =>
          finish(
            new StyleTransferError(
              'network',
              `download of ${url} stalled: no data for ${ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`} (${received} bytes so far; run it again to resume)`,
            ),
          ),
        ms,
      );
    };
    const onAbort = () => finish(cancelledError('download'));
    signal?.addEventListener('abort', onAbort, { once: true });
    resetIdle();
    res.on('data', (chunk: Buffer) => {
      if (settled) return;
      received += chunk.length;
      if (received > maxBytes) {
        finish(new StyleTransferError('network', `download of ${url} exceeded ${maxBytes} bytes`));
        return;
      }
      hashers.sha256.update(chunk);
      hashers.md5.update(chunk);
      if (!out.write(chunk)) {
        res.pause();
        out.once('drain', () => res.resume());
      }
      resetIdle();
      report(false);
    });
    const dropped = () =>
      new StyleTransferError(
        'network',
        `download of ${url}: the connection closed after ${received}${total !== undefined ? ` of ${total}` : ''} bytes; run it again to resume`,
      );
    res.on('error', (e) =>
      finish(
        signal?.aborted
          ? cancelledError('download')
          : (e as NodeJS.ErrnoException).code === 'ECONNRESET'
            ? dropped()
            : networkError(start, e),
      ),
    );
    res.on('close', () => {
      if (!res.complete) finish(signal?.aborted ? cancelledError('download') : dropped());
    });
    res.on('end', () => {
      if (total !== undefined && received !== total) {
        finish(dropped());
      } else {
        finish();
      }
    });
    out.on('error', (e) => finish(new StyleTransferError('io', `cannot write ${partial} (${e.message})`)));
  });
  report(true);

  const got = { sha256: hashers.sha256.digest('hex'), md5: hashers.md5.digest('hex') };
  if (!matches(got, sha256, md5)) {
    await fsp.rm(partial, { force: true });
    const which =
      sha256 && got.sha256 !== sha256 ? `SHA-256 ${got.sha256}, expected ${sha256}` : `MD5 ${got.md5}, expected ${md5}`;
    throw new StyleTransferError('network', `download of ${url} is corrupt: ${which}; the file was discarded`);
  }
  try {
    await retryWhileBusy(() => fsp.rename(partial, dest), process.platform);
  } catch (e) {
    throw new StyleTransferError('io', `cannot move the download into place at ${dest} (${(e as Error).message})`);
  }
  return { path: dest, bytes: received, cached: false, resumed, sha256: got.sha256 };
}

/**
 * Fetches MatConvNet's imagenet-vgg-verydeep-19.mat into `cacheDir` once (verified by its
 * published MD5; a caller may pin a SHA-256 as well). Returns the file's path.
 */
export async function downloadVgg19(
  cacheDir: string,
  options: Omit<DownloadOptions, 'md5'> & { readonly url?: string } = {},
): Promise<DownloadResult> {
  const src = VGG19_SOURCES.matconvnet;
  const { url = src.url, ...rest } = options;
  return downloadFile(url, path.join(cacheDir, src.fileName), {
    ...rest,
    md5: src.md5,
    sha256: options.sha256 ?? src.sha256 ?? undefined,
  });
}
