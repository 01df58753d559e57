// A small builder for ONNX graphs written by hand (the training step): unique value names,
// shared constants, typed attributes, and encoding to a ModelProto with onnx-proto. Shapes are
// static (one graph per architecture, image size and batch), so the layer builders compute them
// themselves and the builder only records them for the graph's inputs and outputs.
import { onnx } from 'onnx-proto';
import { floatBytes, int, int64Bytes, ints, valueInfo, type Attr } from '../onnxOps';

const T = onnx.TensorProto.DataType;

/** Opset 18: every reduction takes its axes as an input, and Pad takes an axes input. */
export const TRAIN_OPSET = 18;
/** IR version 8: the newest the onnx-proto schema describes; valid for opset 18 in ONNX Runtime. */
const IR_VERSION = 8;

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly constants = new Map<string, string>();
  private readonly used = new Set<string>();
  private counter = 0;

  /** A fresh value name built from `hint` (made unique with a counter). */
  fresh(hint: string): string {
    let name = hint;
    while (this.used.has(name)) name = `${hint}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  /** A float32 graph input of static shape. */
  input(name: string, shape: readonly number[]): string {
    if (this.used.has(name)) throw new Error(`graph value ${name} defined twice`);
    this.used.add(name);
    this.inputs.push(valueInfo(name, shape));
    return name;
  }

  /** Declares `value` a graph output under `name` (an Identity when the names differ). */
  output(value: string, name: string, shape: readonly number[]): void {
    if (value !== name) {
      if (this.used.has(name)) throw new Error(`graph value ${name} defined twice`);
      this.used.add(name);
      this.nodes.push({
        opType: 'Identity',
        name: `out:${name}`,
        input: [value],
        output: [name],
        attribute: [],
        domain: '',
      });
    }
    this.outputs.push(valueInfo(name, shape));
  }

  /** A float32 constant (an initializer); small ones are shared by value. */
  floats(values: ArrayLike<number>, dims: readonly number[], hint = 'const'): string {
    const key = values.length <= 16 ? `f:${dims.join('x')}:${Array.from(values).join(',')}` : undefined;
    if (key && this.constants.has(key)) return this.constants.get(key)!;
    const name = this.fresh(hint);
    this.initializers.push({ name, dims: [...dims], dataType: T.FLOAT, rawData: floatBytes(values) });
    if (key) this.constants.set(key, name);
    return name;
  }

  /** A float32 scalar constant. */
  scalar(value: number): string {
    return this.floats([value], [], `c_${value}`.replace(/[^\w.-]/g, '_'));
  }

  /** A 1-D int64 constant (axes, shapes, pads), shared by value. */
  int64s(values: readonly number[]): string {
    const key = `i:${values.join(',')}`;
    if (this.constants.has(key)) return this.constants.get(key)!;
    const name = this.fresh(`i64_${values.join('_').replace(/-/g, 'm')}`);
    this.initializers.push({ name, dims: [values.length], dataType: T.INT64, rawData: int64Bytes(values) });
    this.constants.set(key, name);
    return name;
  }

  /** Adds one node and returns its outputs' names. */
  ops(opType: string, inputs: readonly string[], attrs: readonly Attr[] = [], outputs = 1, hint?: string): string[] {
    const base = hint ?? opType.toLowerCase();
    const out = Array.from({ length: outputs }, (_, i) => this.fresh(outputs === 1 ? base : `${base}_${i}`));
    this.nodes.push({ opType, name: out[0], input: [...inputs], output: out, attribute: [...attrs], domain: '' });
    return out;
  }

  /** Adds one single-output node and returns its output's name. */
  op(opType: string, inputs: readonly string[], attrs: readonly Attr[] = [], hint?: string): string {
    return this.ops(opType, inputs, attrs, 1, hint)[0];
  }

  // Shorthands for the common ops.
  add(a: string, b: string, hint?: string): string {
    return this.op('Add', [a, b], [], hint);
  }
  sub(a: string, b: string, hint?: string): string {
    return this.op('Sub', [a, b], [], hint);
  }
  mul(a: string, b: string, hint?: string): string {
    return this.op('Mul', [a, b], [], hint);
  }
  div(a: string, b: string, hint?: string): string {
    return this.op('Div', [a, b], [], hint);
  }
  /** a · k for a number k. */
  scale(a: string, k: number, hint?: string): string {
    return this.mul(a, this.scalar(k), hint);
  }
  reshape(a: string, shape: readonly number[], hint?: string): string {
    return this.op('Reshape', [a, this.int64s(shape)], [], hint);
  }
  transpose(a: string, perm: readonly number[], hint?: string): string {
    return this.op('Transpose', [a], [ints('perm', perm)], hint);
  }
  reduceSum(a: string, axes: readonly number[], keepdims: boolean, hint?: string): string {
    return this.op('ReduceSum', [a, this.int64s(axes)], [int('keepdims', keepdims ? 1 : 0)], hint);
  }
  reduceMean(a: string, axes: readonly number[], keepdims: boolean, hint?: string): string {
    return this.op('ReduceMean', [a, this.int64s(axes)], [int('keepdims', keepdims ? 1 : 0)], hint);
  }

  /** Encodes the graph as an ONNX model (opset TRAIN_OPSET). */
  encode(graphName: string, docString = ''): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: TRAIN_OPSET }],
      producerName: 'fast-style-transfer',
      domain: 'fast-style-transfer',
      docString,
      graph: {
        name: graphName,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
        node: this.nodes,
      },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }
}
