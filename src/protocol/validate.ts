// The one validation toolkit: job requests reaching the worker (protocol/jobs.ts), messages
// from the gallery webview (protocol/gallery.ts) and hand-edited settings (services/settings.ts)
// are all checked with these rules. A rule reads one value and returns it typed, or throws
// Invalid with one line naming the field (its path in quotes) and what was expected. No
// imports but the path form check: the webview bundle and the worker both use this file.
import { looksAbsolute } from '../shared/paths';

/** A refused value; the message names the field and what was expected. */
export class Invalid extends Error {}

/** Checks `v` (found at field path `at`) and returns it typed, or throws Invalid. */
export type Rule<T> = (v: unknown, at: string) => T;

/** Throws Invalid: `"<at>" <what>` (or just `what` at the top level). */
export function fail(at: string, what: string): never {
  throw new Invalid(at ? `"${at}" ${what}` : what);
}

/** The path of a field or an array item below `at`. */
export function fieldOf(at: string, key: string | number): string {
  return typeof key === 'number' ? `${at}[${key}]` : at ? `${at}.${key}` : key;
}

/** An object literal (or a null-prototype one): no array, class instance, Date or Map. */
export function isPlainObject(v: unknown): v is Readonly<Record<string, unknown>> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export interface StringRule {
  /** Longest accepted length in characters (default: no limit). */
  readonly max?: number;
  /** Accept '' (default false). */
  readonly allowEmpty?: boolean;
}

/** A string without NUL characters (a NUL cuts paths short in native code). */
export function string(o: StringRule = {}): Rule<string> {
  return (v, at) => {
    if (typeof v !== 'string') fail(at, 'must be a string');
    if (o.max !== undefined && v.length > o.max) fail(at, `is too long (${v.length} characters, at most ${o.max})`);
    if (!o.allowEmpty && v.length === 0) fail(at, 'is empty');
    if (v.includes('\u0000')) fail(at, 'contains a NUL character');
    return v;
  };
}

/**
 * An absolute path of any platform (see looksAbsolute): a relative one would be resolved
 * against whatever folder the receiving process started in.
 */
export function absolutePath(o: { readonly max?: number } = {}): Rule<string> {
  const text = string({ max: o.max });
  return (v, at) => {
    const s = text(v, at);
    if (!looksAbsolute(s)) fail(at, 'must be an absolute path');
    return s;
  };
}

/** A file name only: no folders, no '.' or '..', no control characters. */
export function fileName(o: { readonly max?: number } = {}): Rule<string> {
  const text = string({ max: o.max });
  return (v, at) => {
    const s = text(v, at);
    if (/[\\/]/.test(s) || s === '.' || s === '..' || /[\u0000-\u001f\u007f]/.test(s))
      fail(at, 'must be a plain file name');
    return s;
  };
}

/** A string of a given form, e.g. an image token; `what` completes "must be …". */
export function matching(pattern: RegExp, what: string, o: { readonly max?: number } = {}): Rule<string> {
  const text = string({ max: o.max });
  return (v, at) => {
    const s = text(v, at);
    if (!pattern.test(s)) fail(at, `must be ${what}`);
    return s;
  };
}

export interface NumberRule {
  /** Smallest accepted value (inclusive). */
  readonly min?: number;
  /** Values must be strictly greater than this (for ranges open at the bottom, e.g. a scale). */
  readonly above?: number;
  /** Largest accepted value (inclusive). */
  readonly max?: number;
  readonly integer?: boolean;
}

/** The range of a NumberRule in words: "between 0 and 1", "above 0 and at most 4", "at least 0". */
function rangeText(o: NumberRule): string {
  const low = o.above !== undefined ? `above ${o.above}` : o.min !== undefined ? `at least ${o.min}` : '';
  if (o.max === undefined) return low;
  if (o.min !== undefined && o.above === undefined) return `between ${o.min} and ${o.max}`;
  return low ? `${low} and at most ${o.max}` : `at most ${o.max}`;
}

/** A finite number (never NaN or ±Infinity) within the range given, an integer if asked. */
export function number(o: NumberRule = {}): Rule<number> {
  const range = rangeText(o);
  return (v, at) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(at, `must be a finite number${range ? ` ${range}` : ''}`);
    if (o.integer && !Number.isInteger(v)) fail(at, `must be an integer, got ${v}`);
    if (
      (o.min !== undefined && v < o.min) ||
      (o.above !== undefined && v <= o.above) ||
      (o.max !== undefined && v > o.max)
    )
      fail(at, `must be ${range}, got ${v}`);
    return v;
  };
}

export const boolean: Rule<boolean> = (v, at) => (typeof v === 'boolean' ? v : fail(at, 'must be true or false'));

/** A member of a vocabulary list (the protocol's one list of that vocabulary). */
export function oneOf<const T extends string>(values: readonly T[]): Rule<T> {
  return (v, at) => {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
      fail(at, `must be one of ${values.join(', ')}`);
    return v as T;
  };
}

/** Bytes as a Uint8Array (how images cross the protocols), optionally capped and non-empty. */
export function bytes(o: { readonly max?: number; readonly allowEmpty?: boolean } = {}): Rule<Uint8Array> {
  return (v, at) => {
    if (!(v instanceof Uint8Array)) fail(at, 'must be a Uint8Array');
    if (!o.allowEmpty && v.byteLength === 0) fail(at, 'is empty');
    if (o.max !== undefined && v.byteLength > o.max) fail(at, `is too large (${v.byteLength} bytes, at most ${o.max})`);
    return v;
  };
}

export interface ArrayRule {
  /** Fewest items (1: "is empty" for none). */
  readonly min?: number;
  /** Most items (checked from the length before any item is read: a sparse 1e9 array costs nothing). */
  readonly max?: number;
  /** What the items are, for the "too many" message (default "items"). */
  readonly items?: string;
}

/** A plain array (no subclass, holes or extra keys) whose items all pass `item`; returns a copy. */
export function arrayOf<T>(item: Rule<T>, o: ArrayRule = {}): Rule<T[]> {
  return (v, at) => {
    if (!Array.isArray(v) || Object.getPrototypeOf(v) !== Array.prototype) fail(at, 'must be an array');
    if (o.max !== undefined && v.length > o.max)
      fail(at, `has too many ${o.items ?? 'items'} (${v.length}, at most ${o.max})`);
    if (o.min !== undefined && v.length < o.min)
      fail(at, v.length === 0 ? 'is empty' : `has too few ${o.items ?? 'items'} (${v.length}, at least ${o.min})`);
    if (Object.keys(v).length !== v.length) fail(at, 'must be a plain array');
    return v.map((x, i) => item(x, fieldOf(at, i)));
  };
}

type Shape = Readonly<Record<string, Rule<unknown>>>;
type Parsed<S extends Shape> = { -readonly [K in keyof S]: ReturnType<S[K]> };

export interface ObjectRule {
  /** Refuse fields that are neither required nor optional (default: ignore them). */
  readonly exact?: boolean;
}

/**
 * A plain object with `required` fields (undefined counts as missing) and `optional` ones;
 * returns a fresh object holding the known fields only.
 */
export function object<R extends Shape, O extends Shape = Record<never, Rule<unknown>>>(
  required: R,
  optional?: O,
  o: ObjectRule = {},
): Rule<Parsed<R> & Partial<Parsed<O>>> {
  const opt: Shape = optional ?? {};
  return (v, at) => {
    if (!isPlainObject(v)) fail(at, 'must be a plain object');
    if (o.exact) {
      for (const k of Object.keys(v)) {
        if (!Object.prototype.hasOwnProperty.call(required, k) && !Object.prototype.hasOwnProperty.call(opt, k)) {
          throw new Invalid(`${at ? `"${at}" has an ` : ''}unexpected field "${k.slice(0, 40)}"`);
        }
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, rule] of Object.entries(required)) {
      if (v[k] === undefined) fail(fieldOf(at, k), 'is missing');
      out[k] = rule(v[k], fieldOf(at, k));
    }
    for (const [k, rule] of Object.entries(opt)) if (v[k] !== undefined) out[k] = rule(v[k], fieldOf(at, k));
    return out as Parsed<R> & Partial<Parsed<O>>;
  };
}

/** Why `v` fails `rule` (one line), or undefined when it passes. A throwing getter or proxy trap is a failure too. */
export function problemOf(rule: Rule<unknown>, v: unknown, at = ''): string | undefined {
  try {
    rule(v, at);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** `v` when it passes `rule`, else `fallback`: for hand-edited settings, where a bad value must not break every command. */
export function orDefault<T>(rule: Rule<T>, v: unknown, fallback: T): T {
  try {
    return rule(v, '');
  } catch {
    return fallback;
  }
}
