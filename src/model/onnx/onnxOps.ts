// The small vocabulary every ONNX graph builder of ours speaks (the transform net's exports,
// the fast graph and its norm-statistics variants, the training step): tensors as little-endian
// raw bytes (independent of the platform's byte order), node attributes, nodes and value infos.
import { onnx } from 'onnx-proto';

const T = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;

export type Attr = onnx.IAttributeProto;

export function floatBytes(values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return bytes;
}

export function int64Bytes(values: readonly (number | bigint)[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return bytes;
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): onnx.ITensorProto {
  return { name, dims, dataType: T.FLOAT, rawData: floatBytes(values) };
}

/** A 1-D int64 tensor (shapes, axes, pads). */
export function int64Tensor(name: string, values: readonly (number | bigint)[]): onnx.ITensorProto {
  return { name, dims: [values.length], dataType: T.INT64, rawData: int64Bytes(values) };
}

export function int32Tensor(name: string, dims: number[], values: ArrayLike<number>): onnx.ITensorProto {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setInt32(i * 4, values[i], true);
  return { name, dims, dataType: T.INT32, rawData: bytes };
}

/** An int8 or uint8 tensor (`type`: onnx.TensorProto.DataType.INT8 or UINT8). */
export function byteTensor(name: string, dims: number[], type: number, values: ArrayLike<number>): onnx.ITensorProto {
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) bytes[i] = values[i] & 255;
  return { name, dims, dataType: type, rawData: bytes };
}

export const ints = (name: string, values: readonly number[]): Attr => ({ name, type: A.INTS, ints: [...values] });
export const int = (name: string, value: number): Attr => ({ name, type: A.INT, i: value });
export const float = (name: string, value: number): Attr => ({ name, type: A.FLOAT, f: value });
export const str = (name: string, value: string): Attr => ({
  name,
  type: A.STRING,
  s: new TextEncoder().encode(value),
});

export function node(
  opType: string,
  name: string,
  input: string[],
  output: string[],
  attribute: Attr[] = [],
): onnx.INodeProto {
  return { opType, name, input, output, attribute, domain: '' };
}

/** A tensor value of static shape (graph input or output). */
export function valueInfo(name: string, shape: readonly number[], elemType: number = T.FLOAT): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: shape.map((d) => ({ dimValue: d })) } } } };
}
