// Strict argument parsing for `fst` (issue 15.5): every malformed command line is refused before
// anything slow starts, with one line that says what to write instead. node:util's parseArgs
// takes the last of a repeated option, an empty value, and calls "-1" an ambiguous argument.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

/** The one-letter aliases: one list, so a letter means the same option in every command that has it. */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  model: 'm',
  style: 's',
  output: 'o',
  data: 'd',
  preset: 'p',
  compare: 'c',
  format: 'f',
  quiet: 'q',
  iterations: 'n',
  steps: 'n',
};

/**
 * A command's options in the order `--help` lists them: each takes a value, except those also named in `flags`
 * (on or off); short aliases from SHORT_NAMES.
 */
export function optionSpecs(names: readonly string[], flags: readonly string[] = []): Record<string, OptionSpec> {
  const stray = flags.filter((f) => !names.includes(f));
  if (stray.length) throw new Error(`flags ${stray.join(', ')} are not among the options`);
  return Object.fromEntries(
    names.map((n): [string, OptionSpec] => [
      n,
      { type: flags.includes(n) ? 'boolean' : 'string', ...(SHORT_NAMES[n] ? { short: SHORT_NAMES[n] } : {}) },
    ]),
  );
}

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** A usage error: the CLI prints its message and exits 2. */
export class ArgumentError extends Error {}

const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/** The long name of `arg` when it is an option that takes a value ("--x" or "-x", no "=value" attached). */
function valueOption(arg: string, options: Record<string, OptionSpec>): string | undefined {
  if (arg.startsWith('--')) return options[arg.slice(2)]?.type === 'string' ? arg.slice(2) : undefined;
  if (/^-[^-]$/.test(arg)) {
    const long = Object.entries(options).find(([, o]) => o.short === arg[1]);
    return long?.[1].type === 'string' ? long[0] : undefined;
  }
  return undefined;
}

/** Parses `args` against `options`: no repeats (unless `multiple`), no empty values, negative numbers as values. */
export function parseCommandArgs(args: readonly string[], options: Record<string, OptionSpec>): ParsedArgs {
  // "--strength -1" means the value -1: give it as "--strength=-1" so that parseArgs takes it
  // (the range checks then say what is allowed).
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const long = args[i] === '--' ? undefined : valueOption(args[i], options);
    if (long && i + 1 < args.length && NEGATIVE_NUMBER.test(args[i + 1])) {
      joined.push(`--${long}=${args[++i]}`);
    } else {
      joined.push(args[i]);
      if (args[i] === '--') {
        joined.push(...args.slice(i + 1));
        break;
      }
    }
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: joined,
      options: options as ParseArgsConfig['options'],
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (e) {
    throw new ArgumentError(explain(e as Error & { code?: string }, options));
  }
  const seen = new Set<string>();
  for (const t of (parsed.tokens ?? []) as { kind: string; name?: string; value?: string }[]) {
    if (t.kind !== 'option' || !t.name) continue;
    if (seen.has(t.name) && !options[t.name]?.multiple)
      throw new ArgumentError(`--${t.name} is given more than once; give it once`);
    seen.add(t.name);
    if (typeof t.value === 'string' && t.value.trim() === '')
      throw new ArgumentError(`--${t.name} needs a value, got an empty one`);
  }
  return { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals };
}

/** parseArgs' messages span lines and name Node's syntax; one line in ours. */
function explain(e: Error & { code?: string }, options: Record<string, OptionSpec>): string {
  const first = e.message.split('\n')[0];
  // "Option '-m, --model <value>' …", "Option '--model' …" or "Option '-m' …"
  const m = /'(?:-(\w), )?--([\w-]+)|'-(\w)[' ]/.exec(first);
  const name = m?.[2] ?? Object.entries(options).find(([, o]) => o.short === m?.[3])?.[0];
  if (name && /argument is ambiguous/.test(first))
    return `--${name} needs a value; to give one that starts with "-", write --${name}=<value>`;
  if (name && /argument missing/.test(first)) return `--${name} needs a value`;
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return first.replace(/\. To specify a positional argument.*$/, '');
  return first;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** A decimal number as people write it; anything else (hex, "Infinity", blanks) is undefined. */
export function parseDecimal(text: string): number | undefined {
  const t = text.trim();
  return NUMBER.test(t) ? Number(t) : undefined;
}

/**
 * `text` with control characters (C0, DEL, C1), line and paragraph separators and bidirectional
 * overrides escaped, so a file name cannot hide text, move the cursor or print a NUL byte.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    const code = c.charCodeAt(0);
    return (
      named[c] ??
      (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`)
    );
  });
}
