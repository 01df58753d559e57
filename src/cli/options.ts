// What every `fst` command shares: the option readers (each refuses a bad value with one
// 'bad-input' line) and the two ways of printing.
import { StyleTransferError } from '../protocol/errors';
import { parseDecimal, printable, type OptionSpec } from './args';

export type Values = Record<string, string | boolean | undefined>;

/** A message line on stderr, control characters escaped (file names come from anywhere). */
export const warn = (line: string) => console.error(printable(line));
/** A result line (a path) on stdout: escaped on a terminal, as is for scripts that read it. */
export const out = (line: string) => console.log(process.stdout.isTTY ? printable(line) : line);

export interface Command {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly options: Record<string, OptionSpec>;
  readonly help: Record<string, string>;
  readonly examples?: string[];
  run(values: Values, positionals: string[]): Promise<number>;
}

export const badInput = (msg: string) => new StyleTransferError('bad-input', msg);

export function str(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}

export function required(v: Values, name: string): string {
  const x = str(v, name);
  if (!x) throw badInput(`--${name} is required`);
  return x;
}

export function numberOpt(v: Values, name: string, min: number, max: number): number | undefined {
  const x = str(v, name);
  if (x === undefined) return undefined;
  const n = parseDecimal(x);
  if (n === undefined || !Number.isFinite(n) || n < min || n > max)
    throw badInput(`--${name} must be a number between ${min} and ${max}, got "${x}"`);
  return n;
}

export function integerOpt(v: Values, name: string, min: number, max: number): number | undefined {
  const n = numberOpt(v, name, min, max);
  if (n !== undefined && !Number.isInteger(n))
    throw badInput(`--${name} must be a whole number, got "${str(v, name)}"`);
  return n;
}

/** A comma-separated list of layer names; refused when it names none (e.g. ","). */
export function layerList(v: Values, name: string): string[] | undefined {
  const x = str(v, name);
  if (x === undefined) return undefined;
  const list = x
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) throw badInput(`--${name} names no layer, got "${x}"`);
  return list;
}

export function choice<T extends string>(v: Values, name: string, allowed: readonly T[]): T | undefined {
  const x = str(v, name);
  if (x === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(x))
    throw badInput(`--${name} must be one of ${allowed.join(', ')}, got "${x}"`);
  return x as T;
}
