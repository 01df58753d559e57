// The data elements of a MAT-file v5: type and class codes, the size of each stored type, and
// decoding of numeric and character data (split from matfile.ts, which parses the containers).
import type { MatNumeric, MatNumericArray, MatNumericClass } from './matfile';

// Data types (miXXX) of the specification.
export const MI = Object.freeze({
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  INT64: 12,
  UINT64: 13,
  MATRIX: 14,
  COMPRESSED: 15,
  UTF8: 16,
  UTF16: 17,
  UTF32: 18,
});

// Array classes (mxXXX_CLASS).
export const MX = Object.freeze({
  CELL: 1,
  STRUCT: 2,
  OBJECT: 3,
  CHAR: 4,
  SPARSE: 5,
  DOUBLE: 6,
  SINGLE: 7,
  INT8: 8,
  UINT8: 9,
  INT16: 10,
  UINT16: 11,
  INT32: 12,
  UINT32: 13,
  INT64: 14,
  UINT64: 15,
  FUNCTION: 16,
  OPAQUE: 17,
});

export const NUMERIC_CLASSES: Record<number, MatNumericClass> = {
  [MX.DOUBLE]: 'double',
  [MX.SINGLE]: 'single',
  [MX.INT8]: 'int8',
  [MX.UINT8]: 'uint8',
  [MX.INT16]: 'int16',
  [MX.UINT16]: 'uint16',
  [MX.INT32]: 'int32',
  [MX.UINT32]: 'uint32',
  [MX.INT64]: 'int64',
  [MX.UINT64]: 'uint64',
};
export const ELEMENT_SIZE: Record<number, number> = {
  [MI.INT8]: 1,
  [MI.UINT8]: 1,
  [MI.INT16]: 2,
  [MI.UINT16]: 2,
  [MI.INT32]: 4,
  [MI.UINT32]: 4,
  [MI.SINGLE]: 4,
  [MI.DOUBLE]: 8,
  [MI.INT64]: 8,
  [MI.UINT64]: 8,
  [MI.UTF8]: 1,
  [MI.UTF16]: 2,
  [MI.UTF32]: 4,
};
export const MI_NAMES: Record<number, string> = Object.fromEntries(Object.entries(MI).map(([k, v]) => [v, `mi${k}`]));
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function typedArrayFor(cls: MatNumericClass, n: number): MatNumericArray {
  switch (cls) {
    case 'double':
    case 'int64':
    case 'uint64':
      return new Float64Array(n);
    case 'single':
      return new Float32Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'uint8':
      return new Uint8Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'uint16':
      return new Uint16Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'uint32':
      return new Uint32Array(n);
  }
}

/** The storage type whose bytes are exactly the class's typed array (so a plain copy decodes it). */
const NATIVE_STORAGE: Partial<Record<MatNumericClass, number>> = {
  double: MI.DOUBLE,
  single: MI.SINGLE,
  int8: MI.INT8,
  uint8: MI.UINT8,
  int16: MI.INT16,
  uint16: MI.UINT16,
  int32: MI.INT32,
  uint32: MI.UINT32,
};

export interface Element {
  readonly type: number;
  readonly start: number;
  readonly bytes: number;
  /** Offset of the next element (data padded to 8 bytes, except compressed data). */
  readonly next: number;
}

export function emptyDouble(name: string): MatNumeric {
  return {
    kind: 'numeric',
    name,
    dims: [0, 0],
    className: 'double',
    logical: false,
    complex: false,
    values: () => new Float64Array(0),
    imagValues: () => undefined,
  };
}

export function decodeNumeric(buf: Uint8Array, e: Element, le: boolean, cls: MatNumericClass): MatNumericArray {
  const size = ELEMENT_SIZE[e.type];
  const n = e.bytes / size;
  if (le === HOST_LITTLE_ENDIAN && NATIVE_STORAGE[cls] === e.type) {
    // A straight copy into a fresh (aligned) buffer.
    const out = typedArrayFor(cls, n);
    new Uint8Array(out.buffer).set(buf.subarray(e.start, e.start + e.bytes));
    return out;
  }
  const out = typedArrayFor(cls, n);
  const v = new DataView(buf.buffer, buf.byteOffset + e.start, e.bytes);
  const read: (i: number) => number =
    e.type === MI.INT8
      ? (i) => v.getInt8(i)
      : e.type === MI.UINT8
        ? (i) => v.getUint8(i)
        : e.type === MI.INT16
          ? (i) => v.getInt16(i * 2, le)
          : e.type === MI.UINT16
            ? (i) => v.getUint16(i * 2, le)
            : e.type === MI.INT32
              ? (i) => v.getInt32(i * 4, le)
              : e.type === MI.UINT32
                ? (i) => v.getUint32(i * 4, le)
                : e.type === MI.SINGLE
                  ? (i) => v.getFloat32(i * 4, le)
                  : e.type === MI.DOUBLE
                    ? (i) => v.getFloat64(i * 8, le)
                    : e.type === MI.INT64
                      ? (i) => Number(v.getBigInt64(i * 8, le))
                      : (i) => Number(v.getBigUint64(i * 8, le));
  for (let i = 0; i < n; i++) out[i] = read(i);
  return out;
}

export function decodeChars(buf: Uint8Array, e: Element, le: boolean, dims: readonly number[]): string {
  const v = new DataView(buf.buffer, buf.byteOffset + e.start, e.bytes);
  let units: number[];
  if (e.type === MI.UTF8) {
    return new TextDecoder('utf-8').decode(buf.subarray(e.start, e.start + e.bytes));
  } else if (e.type === MI.UINT16 || e.type === MI.UTF16 || e.type === MI.INT16) {
    units = Array.from({ length: e.bytes / 2 }, (_, i) => v.getUint16(i * 2, le));
  } else if (e.type === MI.UTF32 || e.type === MI.UINT32 || e.type === MI.INT32) {
    units = Array.from({ length: e.bytes / 4 }, (_, i) => v.getUint32(i * 4, le));
  } else {
    units = Array.from(buf.subarray(e.start, e.start + e.bytes));
  }
  const char = (u: number) => String.fromCodePoint(u <= 0x10ffff ? u : 0xfffd);
  const rows = dims.length === 2 ? dims[0] : 1;
  const cols = rows > 0 ? units.length / rows : 0;
  if (rows <= 1 || !Number.isInteger(cols)) return units.map(char).join('');
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) {
    const line: string[] = [];
    for (let c = 0; c < cols; c++) line.push(char(units[r + rows * c]));
    lines.push(line.join(''));
  }
  return lines.join('\n');
}
