// Ctrl+C (SIGINT) and SIGTERM (kill, systemd, a container stopping) stop a long command the same
// way (issue 15.4): the first asks the job to stop cleanly (training saves its checkpoint),
// the second exits at once.

const EXIT_CODES: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

export interface Interrupt {
  /** The signal that stopped the job, if one did. */
  readonly signal: 'SIGINT' | 'SIGTERM' | undefined;
  /** The exit code for a stopped job: 128 + the signal's number. */
  readonly exitCode: number;
  dispose(): void;
}

/** Aborts `controller` on the first SIGINT or SIGTERM after printing `message`; a second one exits. */
export function stopOnSignals(
  controller: AbortController,
  message: (signal: 'SIGINT' | 'SIGTERM') => string,
  warn: (line: string) => void,
): Interrupt {
  let received: 'SIGINT' | 'SIGTERM' | undefined;
  const handler = (signal: 'SIGINT' | 'SIGTERM') => {
    if (received) process.exit(EXIT_CODES[signal]);
    received = signal;
    warn(message(signal));
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    get signal() {
      return received;
    },
    get exitCode() {
      return EXIT_CODES[received ?? 'SIGINT'];
    },
    dispose() {
      process.removeListener('SIGINT', handler);
      process.removeListener('SIGTERM', handler);
    },
  };
}
