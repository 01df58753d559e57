// extensionTestsPath entry: VS Code's extension host calls run() after loading the extension
// under development and exits with 0 when it resolves, 1 when it rejects. Mocha (tdd ui: suite,
// test, setup, teardown, suiteSetup, suiteTeardown) is bundled in; its spec report goes to the
// console, which the test host prints.
//
// Env (set by test/integration/runTests.mjs): FST_TEST_RESULTS (a JSON summary is written there),
// FST_TEST_GREP (only tests whose full title matches), FST_MOCHA_TIMEOUT (ms per test).
import * as fs from 'node:fs';
import { SourceMap } from 'node:module';
import * as path from 'node:path';
import Mocha from 'mocha';
import { loadSuites, suiteFiles } from 'fst:integration-suites';

export interface IntegrationResults {
  passed: number;
  failed: number;
  skipped: number;
  durationMs: number;
  suiteFiles: string[];
  failures: { title: string; error: string }[];
}

export async function run(): Promise<void> {
  const started = Date.now();
  const mocha = new Mocha({
    ui: 'tdd',
    reporter: 'spec',
    color: false,
    timeout: Number(process.env.FST_MOCHA_TIMEOUT || 60_000),
    slow: 10_000,
    grep: process.env.FST_TEST_GREP || undefined,
  });
  // mocha colours its ✔/✖ symbols (through picocolors) whenever CI is set, whatever `color`
  // says; keep the report plain for the CI log
  const symbols = Mocha.reporters.Base.symbols as unknown as Record<string, string>;
  for (const key of Object.keys(symbols)) symbols[key] = stripAnsi(symbols[key]);
  const results: IntegrationResults = { passed: 0, failed: 0, skipped: 0, durationMs: 0, suiteFiles, failures: [] };
  const write = () => {
    results.durationMs = Date.now() - started;
    const file = process.env.FST_TEST_RESULTS;
    if (!file) return;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(results, null, 2));
  };
  try {
    // What `mocha.addFile` + `mocha.run` would do for files on disk: define the globals, then
    // evaluate the suites.
    mocha.suite.emit('pre-require', globalThis, 'integration-suites', mocha);
    loadSuites();
  } catch (e) {
    results.failed = 1;
    const stack = (e as Error)?.stack;
    results.failures.push({
      title: 'loading the suite files',
      error: typeof stack === 'string' ? mapStack(stack) : String(e),
    });
    write();
    throw e;
  }
  const failures = await new Promise<number>((resolve) => {
    const runner = mocha.run(resolve);
    runner.on('pass', () => {
      results.passed++;
    });
    runner.on('pending', () => {
      results.skipped++;
    });
    runner.on('fail', (t, err: Error) => {
      // before the spec reporter prints it at the end of the run
      if (err && typeof err.stack === 'string') err.stack = mapStack(err.stack);
      results.failed++;
      results.failures.push({ title: t.fullTitle(), error: String(err?.stack ?? err) });
    });
  });
  write();
  if (failures > 0) throw new Error(`${failures} integration test(s) failed`);
  if (results.passed === 0) throw new Error('no integration test ran (check FST_TEST_GREP and the suite files)');
}

function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

let bundleMap: SourceMap | null | undefined;

/**
 * Rewrites `index.js:LINE:COL` frames of this bundle to the TypeScript source lines, using the
 * bundle's inline source map. (The extension host installs its own Error.prepareStackTrace,
 * which leaves Node's --enable-source-maps without effect.)
 */
function mapStack(stack: string): string {
  if (bundleMap === undefined) {
    bundleMap = null;
    try {
      const m = /\/\/# sourceMappingURL=data:application\/json;base64,(\S+)\s*$/.exec(
        fs.readFileSync(__filename, 'utf8'),
      );
      if (m) bundleMap = new SourceMap(JSON.parse(Buffer.from(m[1], 'base64').toString('utf8')));
    } catch {
      bundleMap = null;
    }
  }
  const map = bundleMap;
  if (!map) return stack;
  const root = process.env.FST_REPO_ROOT ?? process.cwd();
  const bundleName = path.basename(__filename).replace(/[.]/g, '\\.');
  const mapped = stack.replace(
    new RegExp(`[^\\s(]*${bundleName}:(\\d+):(\\d+)`, 'g'),
    (frame, line: string, col: string) => {
      const e = map.findEntry(Number(line) - 1, Number(col) - 1);
      if (!('originalSource' in e)) return frame;
      const source = path.relative(
        root,
        path.resolve(path.dirname(__filename), e.originalSource.replace(/^file:\/\//, '')),
      );
      return `${source}:${e.originalLine + 1}:${e.originalColumn + 1}`;
    },
  );
  // mocha's own frames say nothing about the failing test
  return mapped
    .split('\n')
    .filter((l) => !/node_modules[\\/]mocha[\\/]/.test(l))
    .join('\n');
}
