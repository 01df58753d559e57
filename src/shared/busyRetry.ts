// Windows refuses to rename over (or remove) a file that another program holds open without
// delete sharing — virus scanners and search indexers do so for a moment after a file is
// written, image viewers for longer — with EPERM, EACCES or EBUSY; POSIX renames over open
// files. No imports: the worker (src/io) and the host (commands, gallery) pass their own fs call.

const BUSY = new Set(['EPERM', 'EACCES', 'EBUSY']);

/** Waits between attempts: about 3 s in all, enough for a scanner, short enough to report a viewer. */
export const BUSY_RETRY_DELAYS_MS: readonly number[] = [50, 100, 200, 400, 800, 1500];

/**
 * Runs `op` (a rename or removal); under Windows (`platform` is process.platform) retries it
 * while it fails with a busy-file code, then throws the last error. Elsewhere one attempt.
 */
export async function retryWhileBusy<T>(
  op: () => Promise<T>,
  platform: string,
  delaysMs: readonly number[] = BUSY_RETRY_DELAYS_MS,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (e) {
      const code = (e as { code?: unknown } | null)?.code;
      if (platform !== 'win32' || attempt >= delaysMs.length || typeof code !== 'string' || !BUSY.has(code)) throw e;
      await new Promise((resolve) => setTimeout(resolve, delaysMs[attempt]));
    }
  }
}
