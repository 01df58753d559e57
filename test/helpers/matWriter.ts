// A MAT-file v5 writer for tests only (written from the MathWorks specification, like the
// reader): numeric, char, cell and struct arrays, optionally zlib-compressed per variable,
// either byte order, numeric data optionally stored in a smaller type as MATLAB does, and the
// 4-byte "small element" form for short data. Enough to build a VGG-shaped .mat that has the
// structure of imagenet-vgg-verydeep-19.mat with a few tiny layers.
import zlib from 'node:zlib';

export type MatWriteValue =
  | {
      kind: 'numeric';
      className: NumericClass;
      dims: number[];
      data: ArrayLike<number>;
      storage?: StorageType;
      imag?: ArrayLike<number>;
      logical?: boolean;
    }
  | { kind: 'char'; text: string }
  | { kind: 'cell'; dims: number[]; items: MatWriteValue[] }
  | { kind: 'struct'; dims: number[]; fields: string[]; elements: Record<string, MatWriteValue>[] }
  | { kind: 'empty' };

type NumericClass = 'double' | 'single' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32';
type StorageType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'single' | 'double';

const MI: Record<StorageType | 'matrix' | 'compressed', number> = {
  int8: 1,
  uint8: 2,
  int16: 3,
  uint16: 4,
  int32: 5,
  uint32: 6,
  single: 7,
  double: 9,
  matrix: 14,
  compressed: 15,
};
const MI_SIZE: Record<StorageType, number> = {
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  single: 4,
  double: 8,
};
const MX: Record<NumericClass | 'cell' | 'struct' | 'char', number> = {
  cell: 1,
  struct: 2,
  char: 4,
  double: 6,
  single: 7,
  int8: 8,
  uint8: 9,
  int16: 10,
  uint16: 11,
  int32: 12,
  uint32: 13,
};

// Shorthands.
export const mat = {
  double: (dims: number[], data: ArrayLike<number>, storage?: StorageType): MatWriteValue => ({
    kind: 'numeric',
    className: 'double',
    dims,
    data,
    storage,
  }),
  single: (dims: number[], data: ArrayLike<number>): MatWriteValue => ({
    kind: 'numeric',
    className: 'single',
    dims,
    data,
  }),
  uint8: (dims: number[], data: ArrayLike<number>): MatWriteValue => ({
    kind: 'numeric',
    className: 'uint8',
    dims,
    data,
  }),
  scalar: (x: number): MatWriteValue => ({ kind: 'numeric', className: 'double', dims: [1, 1], data: [x] }),
  row: (xs: number[]): MatWriteValue => ({ kind: 'numeric', className: 'double', dims: [1, xs.length], data: xs }),
  str: (text: string): MatWriteValue => ({ kind: 'char', text }),
  cellRow: (items: MatWriteValue[]): MatWriteValue => ({ kind: 'cell', dims: [1, items.length], items }),
  struct: (fields: Record<string, MatWriteValue>): MatWriteValue => ({
    kind: 'struct',
    dims: [1, 1],
    fields: Object.keys(fields),
    elements: [fields],
  }),
  empty: (): MatWriteValue => ({ kind: 'empty' }),
};

class Writer {
  constructor(private readonly le: boolean) {}

  private u32(values: number[]): Buffer {
    const b = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => {
      if (this.le) b.writeUInt32LE(v, i * 4);
      else b.writeUInt32BE(v, i * 4);
    });
    return b;
  }

  private i32(values: number[]): Buffer {
    const b = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => {
      if (this.le) b.writeInt32LE(v, i * 4);
      else b.writeInt32BE(v, i * 4);
    });
    return b;
  }

  /** A data element; data of at most 4 bytes uses the small form unless `long` is set. */
  element(type: number, data: Buffer, long = false): Buffer {
    if (data.length <= 4 && !long && type !== MI.matrix) {
      const tag = this.u32([(data.length << 16) | type]);
      return Buffer.concat([tag, data, Buffer.alloc(4 - data.length)]);
    }
    const pad = (8 - (data.length % 8)) % 8;
    return Buffer.concat([this.u32([type, data.length]), data, Buffer.alloc(pad)]);
  }

  numbers(values: ArrayLike<number>, storage: StorageType): Buffer {
    const size = MI_SIZE[storage];
    const b = Buffer.alloc(values.length * size);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      const o = i * size;
      switch (storage) {
        case 'int8':
          b.writeInt8(v, o);
          break;
        case 'uint8':
          b.writeUInt8(v, o);
          break;
        case 'int16':
          if (this.le) b.writeInt16LE(v, o);
          else b.writeInt16BE(v, o);
          break;
        case 'uint16':
          if (this.le) b.writeUInt16LE(v, o);
          else b.writeUInt16BE(v, o);
          break;
        case 'int32':
          if (this.le) b.writeInt32LE(v, o);
          else b.writeInt32BE(v, o);
          break;
        case 'uint32':
          if (this.le) b.writeUInt32LE(v, o);
          else b.writeUInt32BE(v, o);
          break;
        case 'single':
          if (this.le) b.writeFloatLE(v, o);
          else b.writeFloatBE(v, o);
          break;
        case 'double':
          if (this.le) b.writeDoubleLE(v, o);
          else b.writeDoubleBE(v, o);
          break;
      }
    }
    return b;
  }

  /** A complete miMATRIX element. */
  matrix(v: MatWriteValue, name: string): Buffer {
    // Inside cells and structs MATLAB writes [] as a bare 0-byte miMATRIX; a named variable needs the full form.
    if (v.kind === 'empty')
      return name
        ? this.matrix({ kind: 'numeric', className: 'double', dims: [0, 0], data: [] }, name)
        : this.u32([MI.matrix, 0]);
    const parts: Buffer[] = [];
    const header = (cls: number, dims: number[], flags = 0) => {
      parts.push(this.element(MI.uint32, this.u32([cls | (flags << 8), 0]), true));
      parts.push(this.element(MI.int32, this.i32(dims), true));
      parts.push(this.element(MI.int8, Buffer.from(name, 'latin1'), name.length === 0));
    };
    switch (v.kind) {
      case 'numeric': {
        const flags = (v.imag ? 0x08 : 0) | (v.logical ? 0x02 : 0);
        header(MX[v.className], v.dims, flags);
        const storage = v.storage ?? (v.className as StorageType);
        parts.push(this.element(MI[storage], this.numbers(v.data, storage)));
        if (v.imag) parts.push(this.element(MI[storage], this.numbers(v.imag, storage)));
        break;
      }
      case 'char': {
        header(MX.char, [1, v.text.length]);
        const units = Array.from(v.text, (c) => c.charCodeAt(0));
        parts.push(this.element(MI.uint16, this.numbers(units, 'uint16')));
        break;
      }
      case 'cell': {
        header(MX.cell, v.dims);
        for (const item of v.items) parts.push(this.matrix(item, ''));
        break;
      }
      case 'struct': {
        header(MX.struct, v.dims);
        const len = Math.max(...v.fields.map((f) => f.length)) + 1;
        parts.push(this.element(MI.int32, this.i32([len]))); // small element, as MATLAB writes it
        const names = Buffer.alloc(len * v.fields.length);
        v.fields.forEach((f, i) => names.write(f, i * len, 'latin1'));
        parts.push(this.element(MI.int8, names));
        for (const el of v.elements) for (const f of v.fields) parts.push(this.matrix(el[f], ''));
        break;
      }
    }
    const body = Buffer.concat(parts);
    return Buffer.concat([this.u32([MI.matrix, body.length]), body]);
  }
}

export interface MatVariable {
  readonly name: string;
  readonly value: MatWriteValue;
  readonly compress?: boolean;
}

/** A whole MAT-file v5. */
export function writeMat(variables: MatVariable[], options: { bigEndian?: boolean } = {}): Buffer {
  const le = !options.bigEndian;
  const w = new Writer(le);
  const header = Buffer.alloc(128, ' ');
  header.write('MATLAB 5.0 MAT-file, Platform: test, Created on: by the fast-style-transfer tests', 0, 'latin1');
  header.fill(0, 116, 124); // subsystem data offset: none
  if (le) header.writeUInt16LE(0x0100, 124);
  else header.writeUInt16BE(0x0100, 124);
  header.write(le ? 'IM' : 'MI', 126, 'latin1');
  const parts: Buffer[] = [header];
  for (const v of variables) {
    const m = w.matrix(v.value, v.name);
    if (v.compress) {
      const z = zlib.deflateSync(m);
      const tag = Buffer.alloc(8);
      if (le) {
        tag.writeUInt32LE(MI.compressed, 0);
        tag.writeUInt32LE(z.length, 4);
      } else {
        tag.writeUInt32BE(MI.compressed, 0);
        tag.writeUInt32BE(z.length, 4);
      }
      parts.push(tag, z);
    } else {
      parts.push(m);
    }
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------
// A VGG-shaped MatConvNet SimpleNN file

export interface TinyConv {
  readonly name: string;
  /** Row-major [3, 3, in, out] (tfjs layout); written column-major as MatConvNet stores it. */
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
  readonly inChannels: number;
  readonly outChannels: number;
}

export function rowMajorToMatlab(kernel: Float32Array, inC: number, outC: number): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let h = 0; h < 3; h++)
    for (let w = 0; w < 3; w++)
      for (let i = 0; i < inC; i++)
        for (let o = 0; o < outC; o++) {
          out[h + 3 * (w + 3 * (i + inC * o))] = kernel[((h * 3 + w) * inC + i) * outC + o];
        }
  return out;
}

/**
 * layers (1×N cell of structs: conv/relu/pool, then an fc6 conv and softmax like the real
 * file), classes, and the mean: `normalization.averageImage` (old layout, H×W×3) or
 * `meta.normalization.averageImage` (new layout, 1×1×3).
 */
export function writeVggMat(
  convs: readonly TinyConv[],
  options: {
    layout?: 'old' | 'new';
    compress?: boolean;
    bigEndian?: boolean;
    meanRgb?: [number, number, number];
    blocks?: number[];
  } = {},
): Buffer {
  const meanRgb = options.meanRgb ?? [123.68, 116.779, 103.939];
  const blocks = options.blocks ?? [2, 2, 4, 4, 4];
  const layers: MatWriteValue[] = [];
  let k = 0;
  for (let b = 0; b < blocks.length && k < convs.length; b++) {
    const n = blocks[b];
    let i = 1;
    for (; i <= n && k < convs.length; i++, k++) {
      const c = convs[k];
      layers.push(
        mat.struct({
          weights: mat.cellRow([
            {
              kind: 'numeric',
              className: 'single',
              dims: c.outChannels === 1 ? [3, 3, c.inChannels] : [3, 3, c.inChannels, c.outChannels],
              data: rowMajorToMatlab(c.kernel, c.inChannels, c.outChannels),
            },
            mat.single([1, c.outChannels], c.bias),
          ]),
          pad: mat.row([1, 1, 1, 1]),
          type: mat.str('conv'),
          name: mat.str(c.name),
          stride: mat.row([1, 1]),
        }),
      );
      layers.push(mat.struct({ type: mat.str('relu'), name: mat.str(`relu${b + 1}_${i}`), leak: mat.empty() }));
    }
    if (i > n) {
      layers.push(
        mat.struct({
          name: mat.str(`pool${b + 1}`),
          stride: mat.row([2, 2]),
          pad: mat.row([0, 0, 0, 0]),
          type: mat.str('pool'),
          method: mat.str('max'),
          pool: mat.row([2, 2]),
        }),
      );
    }
  }
  // A tiny "fc6" conv, as in the real file, which the loader must stop at.
  layers.push(
    mat.struct({
      weights: mat.cellRow([mat.single([1, 1, 1, 2], [1, 2]), mat.single([1, 2], [0, 0])]),
      pad: mat.scalar(0),
      type: mat.str('conv'),
      name: mat.str('fc6'),
      stride: mat.scalar(1),
    }),
  );
  layers.push(mat.struct({ type: mat.str('softmax'), name: mat.str('prob') }));

  const H = 4,
    W = 5;
  const avg = new Float32Array(H * W * 3);
  for (let c = 0; c < 3; c++)
    for (let p = 0; p < H * W; p++) avg[c * H * W + p] = meanRgb[c] + (p % 2 === 0 ? 1.5 : -1.5); // H·W even: averages back to meanRgb
  const classes = mat.struct({
    name: { kind: 'cell', dims: [1, 2], items: [mat.str('n01440764'), mat.str('n01443537')] },
    description: { kind: 'cell', dims: [1, 2], items: [mat.str('tench'), mat.str('goldfish')] },
  });
  const compress = options.compress ?? false;
  const variables: MatVariable[] = [{ name: 'layers', value: mat.cellRow(layers), compress }];
  if ((options.layout ?? 'old') === 'old') {
    variables.push({ name: 'classes', value: classes, compress });
    variables.push({
      name: 'normalization',
      value: mat.struct({
        averageImage: mat.single([H, W, 3], avg),
        keepAspect: mat.scalar(1),
        border: mat.row([32, 32]),
        imageSize: mat.row([224, 224, 3]),
        interpolation: mat.str('bilinear'),
      }),
      compress,
    });
  } else {
    variables.push({
      name: 'meta',
      value: mat.struct({
        inputs: mat.struct({ name: mat.str('data'), size: mat.row([224, 224, 3, 10]) }),
        classes,
        normalization: mat.struct({
          imageSize: mat.row([224, 224, 3]),
          averageImage: mat.single([1, 1, 3], meanRgb),
          keepAspect: mat.scalar(1),
          border: mat.row([32, 32]),
          cropSize: mat.row([0.875, 0.875]),
          interpolation: mat.str('bilinear'),
        }),
      }),
      compress,
    });
  }
  return writeMat(variables, { bigEndian: options.bigEndian });
}
