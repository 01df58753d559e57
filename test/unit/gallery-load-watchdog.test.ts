// The gallery's load watchdog: a visible webview that never says 'ready' is reloaded a few
// times, then reported; a hidden, ready or disposed one is left alone.
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { watchWebviewLoad } from '../../src/views/gallery/loadWatchdog';

/** Advances mocked time in 100 ms steps (timers set while ticking fire in later steps). */
function advance(ms: number): void {
  for (let t = 0; t < ms; t += 100) mock.timers.tick(100);
}

function harness(opts: { visible?: boolean; readyAfterReloads?: number } = {}) {
  const s = {
    ready: false,
    visible: opts.visible ?? true,
    disposed: false,
    reloads: 0,
    warnings: [] as string[],
    errors: [] as string[],
  };
  const watch = watchWebviewLoad({
    what: 'panel gallery webview',
    timeoutMs: 1000,
    maxReloads: 3,
    ready: () => s.ready,
    visible: () => s.visible,
    disposed: () => s.disposed,
    reload: () => {
      s.reloads++;
      if (opts.readyAfterReloads !== undefined && s.reloads >= opts.readyAfterReloads) s.ready = true;
    },
    warn: (m) => s.warnings.push(m),
    error: (m) => s.errors.push(m),
  });
  return { s, watch };
}

test('a webview that loads in time is never reloaded', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { s, watch } = harness();
    advance(500);
    s.ready = true;
    advance(10_000);
    assert.equal(s.reloads, 0);
    assert.equal(watch.reloads, 0);
    assert.deepEqual([s.warnings, s.errors], [[], []]);
  } finally {
    mock.timers.reset();
  }
});

test('a stuck webview is reloaded until it loads, each reload logged', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { s, watch } = harness({ readyAfterReloads: 2 });
    advance(900);
    assert.equal(s.reloads, 0, 'not before the timeout');
    advance(100);
    assert.equal(s.reloads, 1);
    advance(1000);
    assert.equal(s.reloads, 2);
    advance(10_000);
    assert.equal(s.reloads, 2, 'no reload once it said ready');
    assert.equal(watch.reloads, 2);
    assert.deepEqual(s.warnings, [
      'the panel gallery webview did not load within 1 s; reloading it (1/3)',
      'the panel gallery webview did not load within 1 s; reloading it (2/3)',
    ]);
    assert.deepEqual(s.errors, []);
  } finally {
    mock.timers.reset();
  }
});

test('a webview that never loads is reloaded three times, then reported once', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { s } = harness();
    advance(60_000);
    assert.equal(s.reloads, 3);
    assert.deepEqual(s.errors, ['the panel gallery webview did not load after 3 reloads; close it and open it again']);
  } finally {
    mock.timers.reset();
  }
});

test('hidden webviews are not judged, disposed ones not touched, stop() ends the watch', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const hidden = harness({ visible: false });
    advance(5000);
    assert.equal(hidden.s.reloads, 0, 'hidden: not loaded yet, not stuck');
    hidden.s.visible = true;
    advance(1000);
    assert.equal(hidden.s.reloads, 1, 'judged once shown');
    hidden.watch.stop();

    const gone = harness();
    gone.s.disposed = true;
    advance(10_000);
    assert.equal(gone.s.reloads, 0);

    const stopped = harness();
    stopped.watch.stop();
    advance(10_000);
    assert.equal(stopped.s.reloads, 0);
  } finally {
    mock.timers.reset();
  }
});
