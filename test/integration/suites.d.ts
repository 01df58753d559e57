// The virtual module that test/integration/build.mjs generates from suite/**/*.test.ts.
declare module 'fst:integration-suites' {
  /** Repository-relative paths of the bundled suite files. */
  export const suiteFiles: string[];
  /** Evaluates every suite file; call only after mocha's pre-require. */
  export function loadSuites(): void;
}
