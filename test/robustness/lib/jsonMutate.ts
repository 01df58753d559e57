// Hostile variants of a JSON document: cut short, not JSON at all, and every listed field set
// to values of the wrong type, out of range, absurdly large, or missing.
import type { Rng } from './prng';

export type JsonPath = readonly (string | number)[];

export function setAt(doc: unknown, p: JsonPath, value: unknown): unknown {
  const copy = structuredClone(doc);
  if (p.length === 0) return value;
  let o = copy as Record<string | number, unknown>;
  for (const k of p.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== 'object') o[k] = {};
    o = o[k] as Record<string | number, unknown>;
  }
  const last = p[p.length - 1];
  if (value === REMOVE) delete o[last];
  else o[last] = value;
  return copy;
}

export const REMOVE = Symbol('remove');

/** Values no field should accept (a 1 MB string included; JSON has no NaN, so 1e999 → Infinity). */
export const HOSTILE_VALUES: readonly [string, unknown | typeof REMOVE][] = [
  ['missing', REMOVE],
  ['null', null],
  ['string', 'x'],
  ['empty-string', ''],
  ['number', 7],
  ['negative', -1],
  ['zero', 0],
  ['fraction', 1.5],
  ['huge', 1e308],
  ['array', []],
  ['object', {}],
  ['bool', true],
  ['long-string', 'A'.repeat(1 << 20)],
  ['nested', JSON.parse(`${'['.repeat(40)}1${']'.repeat(40)}`)],
];

/** Raw text variants: truncations at several points, and documents that are not objects. */
export function textVariants(text: string, rng: Rng): [string, string][] {
  const cuts = [
    0,
    1,
    2,
    Math.floor(text.length / 3),
    Math.floor(text.length / 2),
    text.length - 2,
    text.length - 1,
    rng.int(1, text.length - 1),
  ];
  return [
    ...[...new Set(cuts)].map((n) => [`truncated`, text.slice(0, n)] as [string, string]),
    ['null', 'null'],
    ['array', '[]'],
    ['number', '42'],
    ['string', '"model"'],
    ['bom', `\ufeff${text}`],
    ['trailing-garbage', `${text}}}`],
    ['binary', String.fromCharCode(...rng.bytes(64))],
    ['nan', '{"formatVersion": NaN}'],
    ['proto', '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}'],
    ['deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
  ];
}
