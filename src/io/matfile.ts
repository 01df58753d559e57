// A small reader for MATLAB Level 5 MAT-files (the format of MatConvNet's
// imagenet-vgg-verydeep-19.mat), written from MathWorks' "MAT-File Format" specification:
// a 128-byte header, then data elements (8-byte tag: type + byte count, or the 4-byte
// "small element" form; data padded to 8 bytes). Variables are miMATRIX elements, optionally
// wrapped in miCOMPRESSED (zlib). A matrix holds array flags (class, complex, logical), dims,
// a name, then per class: numeric real/imaginary parts (stored in any, possibly smaller,
// type: a double array may be stored as miUINT8), characters, cell items or struct fields,
// all in column-major order.
//
// The input is untrusted (a download): every size is checked against the bytes that are
// really there before anything is allocated, decompression has a byte budget and nesting a
// depth limit, so a truncated or hostile file gives one precise StyleTransferError and never
// a crash or a huge allocation. Numeric data is decoded only when asked for (`values()`), so
// the 400 MB fully-connected layers of VGG19 are never copied.
//
// mat-for-js (npm, 1.1.0) was considered and not used: GPL-3.0 (this extension is MIT),
// a single release, no bounds checks (sizes read as signed ints, no limit on inflate), and it
// turns every numeric array into nested JS arrays of boxed numbers — gigabytes for VGG19.
import zlib from 'node:zlib';
import { StyleTransferError, type ErrorCode } from '../protocol/errors';
import {
  decodeChars,
  decodeNumeric,
  ELEMENT_SIZE,
  emptyDouble,
  MI,
  MI_NAMES,
  MX,
  NUMERIC_CLASSES,
  type Element,
} from './matElements';

export type MatNumericClass =
  'double' | 'single' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64';
export type MatNumericArray =
  Float64Array | Float32Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

interface MatBase {
  /** Variable name at top level, '' inside cells and structs. */
  readonly name: string;
  /** MATLAB dimensions (at least two). */
  readonly dims: readonly number[];
}

export interface MatNumeric extends MatBase {
  readonly kind: 'numeric';
  readonly className: MatNumericClass;
  readonly logical: boolean;
  readonly complex: boolean;
  /** Real part, column-major, in the class's type (int64/uint64 as Float64Array). Decoded on each call. */
  values(): MatNumericArray;
  /** Imaginary part of a complex array. */
  imagValues(): MatNumericArray | undefined;
}

export interface MatChar extends MatBase {
  readonly kind: 'char';
  /** The characters; rows of a multi-row char array are joined with '\n'. */
  readonly text: string;
}

export interface MatCell extends MatBase {
  readonly kind: 'cell';
  /** Column-major. */
  readonly items: readonly MatValue[];
}

export interface MatStruct extends MatBase {
  readonly kind: 'struct';
  readonly fieldNames: readonly string[];
  /** One map per struct-array element, column-major. */
  readonly elements: readonly ReadonlyMap<string, MatValue>[];
  /** Set for MATLAB objects (read like structs). */
  readonly objectClass?: string;
}

/** Sparse arrays, function handles and opaque objects: recognised and skipped. */
export interface MatUnsupported extends MatBase {
  readonly kind: 'unsupported';
  readonly className: string;
}

export type MatValue = MatNumeric | MatChar | MatCell | MatStruct | MatUnsupported;

export interface MatFile {
  /** The header's descriptive text ("MATLAB 5.0 MAT-file, Platform: …"). */
  readonly description: string;
  readonly littleEndian: boolean;
  /** Top-level variables in file order. */
  readonly variables: ReadonlyMap<string, MatValue>;
}

export interface MatReadOptions {
  /** Prefix of error messages, e.g. the file path. */
  readonly where?: string;
  /** Error code of every format error (default 'bad-weights': the only MAT-files read are weights). */
  readonly errorCode?: ErrorCode;
  /** Total bytes all compressed variables may inflate to (default 1.5 GB). */
  readonly maxDecompressedBytes?: number;
  /** Maximum nesting of cells/structs (default 64). */
  readonly maxDepth?: number;
}

const HEADER_BYTES = 128;
class MatParser {
  private readonly view: DataView;

  constructor(
    private readonly buf: Uint8Array,
    private readonly le: boolean,
    private readonly where: string,
    private readonly code: ErrorCode,
    private readonly maxDecompressed: number,
    private readonly maxDepth: number,
    private readonly budget: { used: number },
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(msg: string): never {
    throw new StyleTransferError(this.code, `${this.where}: ${msg}`);
  }

  private u32(p: number): number {
    return this.view.getUint32(p, this.le);
  }

  /** Reads the element tag at `p`, checking that its data lies inside [p, end). */
  element(p: number, end: number, what: string): Element {
    if (end - p < 8)
      this.fail(`${what} at byte ${p}: file ends after ${Math.max(0, end - p)} of the 8 tag bytes (truncated)`);
    const word = this.u32(p);
    if (word >>> 16 !== 0) {
      // Small element: byte count in the upper 16 bits, type in the lower, data in the next 4 bytes.
      const bytes = word >>> 16;
      if (bytes > 4) this.fail(`${what} at byte ${p}: small data element claims ${bytes} bytes (at most 4)`);
      return { type: word & 0xffff, start: p + 4, bytes, next: p + 8 };
    }
    const type = word;
    const bytes = this.u32(p + 4);
    const start = p + 8;
    if (bytes > end - start) {
      this.fail(
        `${what} at byte ${p} (${MI_NAMES[type] ?? `type ${type}`}) claims ${bytes} bytes but only ${end - start} remain (truncated or corrupt)`,
      );
    }
    const padded = type === MI.COMPRESSED ? bytes : Math.ceil(bytes / 8) * 8;
    return { type, start, bytes, next: Math.min(start + padded, end) };
  }

  /** Top-level variables from `p` to the end of this buffer. */
  variables(p: number, out: Map<string, MatValue>): void {
    const end = this.buf.byteLength;
    while (p < end) {
      const el = this.element(p, end, 'variable');
      let value: MatValue;
      if (el.type === MI.COMPRESSED) {
        value = this.compressed(el);
      } else if (el.type === MI.MATRIX) {
        value = this.matrix(el, 0);
      } else {
        this.fail(
          `top-level element at byte ${p} has type ${MI_NAMES[el.type] ?? el.type}; expected miMATRIX or miCOMPRESSED`,
        );
      }
      out.set(value.name, value);
      p = el.next;
    }
  }

  private compressed(el: Element): MatValue {
    const left = this.maxDecompressed - this.budget.used;
    let inflated: Buffer;
    try {
      inflated = zlib.inflateSync(this.buf.subarray(el.start, el.start + el.bytes), {
        maxOutputLength: Math.max(1, left),
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
        this.fail(
          `compressed variable at byte ${el.start - 8} inflates to more than the ${this.maxDecompressed} bytes allowed`,
        );
      }
      this.fail(`compressed variable at byte ${el.start - 8} is corrupt or truncated (zlib: ${err.message})`);
    }
    this.budget.used += inflated.byteLength;
    const inner = new MatParser(
      inflated,
      this.le,
      `${this.where} (compressed variable at byte ${el.start - 8})`,
      this.code,
      this.maxDecompressed,
      this.maxDepth,
      this.budget,
    );
    const innerEl = inner.element(0, inflated.byteLength, 'compressed variable');
    if (innerEl.type !== MI.MATRIX)
      inner.fail(`holds a ${MI_NAMES[innerEl.type] ?? innerEl.type} element; expected miMATRIX`);
    return inner.matrix(innerEl, 0);
  }

  private ascii(el: Element): string {
    let s = '';
    for (let i = el.start; i < el.start + el.bytes; i++) {
      const c = this.buf[i];
      if (c === 0) break;
      s += String.fromCharCode(c);
    }
    return s;
  }

  /** Parses a miMATRIX element's contents. */
  matrix(el: Element, depth: number, name?: string): MatValue {
    if (depth > this.maxDepth) this.fail(`cells/structs nested more than ${this.maxDepth} deep`);
    const end = el.start + el.bytes;
    if (el.bytes === 0) return emptyDouble(name ?? '');
    const flagsEl = this.element(el.start, end, 'array flags');
    if (flagsEl.type !== MI.UINT32 || flagsEl.bytes !== 8)
      this.fail(`array at byte ${el.start - 8}: array flags must be 8 bytes of miUINT32`);
    const flags = this.u32(flagsEl.start);
    const cls = flags & 0xff;
    const complex = (flags & 0x800) !== 0;
    const logical = (flags & 0x200) !== 0;

    const dimsEl = this.element(flagsEl.next, end, 'dimensions');
    if (dimsEl.type !== MI.INT32 || dimsEl.bytes % 4 !== 0 || dimsEl.bytes < 8) {
      this.fail(`array at byte ${el.start - 8}: dimensions must be at least two miINT32 values`);
    }
    const dims: number[] = [];
    let numel = 1;
    for (let i = 0; i < dimsEl.bytes / 4; i++) {
      const d = this.view.getInt32(dimsEl.start + i * 4, this.le);
      if (d < 0) this.fail(`array at byte ${el.start - 8}: negative dimension ${d}`);
      dims.push(d);
      numel *= d;
    }
    const nameEl = this.element(dimsEl.next, end, 'array name');
    if (nameEl.type !== MI.INT8 && nameEl.type !== MI.UINT8)
      this.fail(`array at byte ${el.start - 8}: name must be miINT8`);
    const arrayName = name ?? this.ascii(nameEl);
    let p = nameEl.next;
    const dimText = dims.join('×');

    const numericClass = NUMERIC_CLASSES[cls];
    if (numericClass) {
      const re = this.element(p, end, `real part of ${arrayName || 'array'}`);
      this.checkNumericData(re, numel, dimText, arrayName);
      let im: Element | undefined;
      if (complex) {
        im = this.element(re.next, end, `imaginary part of ${arrayName || 'array'}`);
        this.checkNumericData(im, numel, dimText, arrayName);
      }
      const decode = (e: Element) => decodeNumeric(this.buf, e, this.le, numericClass);
      return {
        kind: 'numeric',
        name: arrayName,
        dims,
        className: numericClass,
        logical,
        complex,
        values: () => decode(re),
        imagValues: () => (im ? decode(im) : undefined),
      };
    }
    switch (cls) {
      case MX.CHAR: {
        const data = this.element(p, end, `characters of ${arrayName || 'array'}`);
        const size = ELEMENT_SIZE[data.type];
        if (!size || data.bytes % size !== 0)
          this.fail(`char array ${arrayName} stored as ${MI_NAMES[data.type] ?? data.type}`);
        if (data.type !== MI.UTF8 && data.bytes / size !== numel) {
          this.fail(`char array ${arrayName} is ${dimText} (${numel} characters) but holds ${data.bytes / size}`);
        }
        const text = decodeChars(this.buf, data, this.le, dims);
        return { kind: 'char', name: arrayName, dims, text };
      }
      case MX.CELL: {
        this.checkCount(numel, end - p, `cell ${arrayName || ''} (${dimText})`);
        const items: MatValue[] = [];
        for (let i = 0; i < numel; i++) {
          const item = this.element(p, end, `cell item ${i + 1} of ${numel}`);
          if (item.type !== MI.MATRIX)
            this.fail(`cell item ${i + 1} has type ${MI_NAMES[item.type] ?? item.type}; expected miMATRIX`);
          items.push(this.matrix(item, depth + 1, ''));
          p = item.next;
        }
        return { kind: 'cell', name: arrayName, dims, items };
      }
      case MX.STRUCT:
      case MX.OBJECT: {
        let objectClass: string | undefined;
        if (cls === MX.OBJECT) {
          const classEl = this.element(p, end, 'object class name');
          objectClass = this.ascii(classEl);
          p = classEl.next;
        }
        const lenEl = this.element(p, end, 'field name length');
        if (lenEl.type !== MI.INT32 || lenEl.bytes !== 4)
          this.fail(`struct ${arrayName}: field name length must be one miINT32`);
        const nameLen = this.view.getInt32(lenEl.start, this.le);
        if (nameLen < 1 || nameLen > 4096)
          this.fail(`struct ${arrayName}: field name length ${nameLen} is out of range`);
        const namesEl = this.element(lenEl.next, end, 'field names');
        if (namesEl.bytes % nameLen !== 0)
          this.fail(`struct ${arrayName}: ${namesEl.bytes} bytes of field names is not a multiple of ${nameLen}`);
        const fieldNames: string[] = [];
        for (let f = 0; f < namesEl.bytes / nameLen; f++) {
          fieldNames.push(this.ascii({ type: MI.INT8, start: namesEl.start + f * nameLen, bytes: nameLen, next: 0 }));
        }
        p = namesEl.next;
        this.checkCount(
          numel * fieldNames.length,
          end - p,
          `struct ${arrayName || ''} (${dimText}, ${fieldNames.length} fields)`,
        );
        // Field-less elements take no bytes, so the byte check above cannot bound their number.
        if (fieldNames.length === 0 && numel > 65536)
          this.fail(`struct ${arrayName || ''} has no fields but claims ${dimText} elements`);
        const elements: Map<string, MatValue>[] = [];
        for (let i = 0; i < numel; i++) {
          const fields = new Map<string, MatValue>();
          for (const f of fieldNames) {
            const v = this.element(p, end, `field ${f}`);
            if (v.type !== MI.MATRIX)
              this.fail(`struct field ${f} has type ${MI_NAMES[v.type] ?? v.type}; expected miMATRIX`);
            fields.set(f, this.matrix(v, depth + 1, ''));
            p = v.next;
          }
          elements.push(fields);
        }
        return {
          kind: 'struct',
          name: arrayName,
          dims,
          fieldNames,
          elements,
          ...(objectClass !== undefined ? { objectClass } : {}),
        };
      }
      case MX.SPARSE:
        return { kind: 'unsupported', name: arrayName, dims, className: 'sparse' };
      case MX.FUNCTION:
        return { kind: 'unsupported', name: arrayName, dims, className: 'function_handle' };
      case MX.OPAQUE:
        return { kind: 'unsupported', name: arrayName, dims, className: 'opaque' };
      default:
        this.fail(`array ${arrayName} at byte ${el.start - 8} has unknown class ${cls}`);
    }
  }

  private checkNumericData(e: Element, numel: number, dimText: string, name: string): void {
    const size = ELEMENT_SIZE[e.type];
    if (!size || e.type === MI.UTF8 || e.type === MI.UTF16 || e.type === MI.UTF32) {
      this.fail(`numeric array ${name} stored as ${MI_NAMES[e.type] ?? `type ${e.type}`}`);
    }
    if (e.bytes % size !== 0 || e.bytes / size !== numel) {
      this.fail(
        `numeric array ${name || '(unnamed)'} is ${dimText} (${numel} values) but its data holds ${e.bytes} bytes of ${MI_NAMES[e.type]}`,
      );
    }
  }

  /** Every cell item / struct field needs at least an 8-byte tag: reject counts the bytes cannot hold before looping. */
  private checkCount(count: number, bytesLeft: number, what: string): void {
    if (!Number.isSafeInteger(count) || count * 8 > bytesLeft) {
      this.fail(`${what} needs ${count} elements but only ${bytesLeft} bytes remain (truncated or corrupt)`);
    }
  }
}

/** Parses a whole MAT-file v5 held in memory. */
export function readMat(bytes: Uint8Array, options: MatReadOptions = {}): MatFile {
  const where = options.where ?? 'MAT-file';
  const code = options.errorCode ?? 'bad-weights';
  const fail = (msg: string): never => {
    throw new StyleTransferError(code, `${where}: ${msg}`);
  };
  if (bytes.byteLength < HEADER_BYTES)
    fail(
      `${bytes.byteLength} bytes is too short for a MAT-file (the header alone is ${HEADER_BYTES}); the file is truncated or not a MAT-file`,
    );
  const description = Buffer.from(bytes.subarray(0, 116))
    .toString('latin1')
    .replace(/[\0 ]+$/, '');
  const hdf5 =
    bytes.byteLength >= 520 &&
    Buffer.from(bytes.subarray(512, 520)).equals(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]));
  if (description.startsWith('MATLAB 7.3') || hdf5) {
    fail("MAT-file v7.3 (HDF5) is not supported; save it again in MATLAB with save(file, '-v7')");
  }
  if (!description.startsWith('MATLAB')) fail('not a MAT-file (the header does not start with "MATLAB")');
  const e0 = String.fromCharCode(bytes[126], bytes[127]);
  if (e0 !== 'IM' && e0 !== 'MI')
    fail(`not a MAT-file v5 (endian indicator ${JSON.stringify(e0)}, expected "IM" or "MI")`);
  const le = e0 === 'IM';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(124, le);
  if (version === 0x0200) fail("MAT-file v7.3 (HDF5) is not supported; save it again in MATLAB with save(file, '-v7')");
  if (version !== 0x0100) fail(`unsupported MAT-file version 0x${version.toString(16)} (expected 0x0100, Level 5)`);
  const variables = new Map<string, MatValue>();
  const parser = new MatParser(bytes, le, where, code, options.maxDecompressedBytes ?? 1.5e9, options.maxDepth ?? 64, {
    used: 0,
  });
  parser.variables(HEADER_BYTES, variables);
  return { description, littleEndian: le, variables };
}

/** A struct field of element `index` (0 for a 1×1 struct), or undefined. */
export function matField(s: MatValue | undefined, field: string, index = 0): MatValue | undefined {
  return s?.kind === 'struct' ? s.elements[index]?.get(field) : undefined;
}
