// Micro-benchmark: ways to compute instance norm + ReLU on [1,C,H,W] in ONNX Runtime CPU.
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';

const C = Number(process.argv[2] ?? 32), H = Number(process.argv[3] ?? 1024), W = H;
const f = (name: string, dims: number[], v: number[] | Float32Array) => onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(v) });
const i64 = (name: string, v: number[]) => onnx.TensorProto.create({ name, dims: [v.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: v as any });
const n = (op: string, i: string[], o: string[], attrs: onnx.IAttributeProto[] = []) => onnx.NodeProto.create({ opType: op, input: i, output: o, name: o[0], attribute: attrs });
const ai = (name: string, ints: number[]) => onnx.AttributeProto.create({ name, ints, type: onnx.AttributeProto.AttributeType.INTS });
const aint = (name: string, i: number) => onnx.AttributeProto.create({ name, i, type: onnx.AttributeProto.AttributeType.INT });
const af = (name: string, v: number) => onnx.AttributeProto.create({ name, f: v, type: onnx.AttributeProto.AttributeType.FLOAT });
const vi = (name: string, dims: number[]) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
function model(nodes: onnx.INodeProto[], inits: onnx.ITensorProto[]) {
  const g = onnx.GraphProto.create({ name: 'g', node: nodes, initializer: inits, input: [vi('x', [1, C, H, W])], output: [vi('y', [1, C, H, W])] });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 18 }], graph: g })).finish();
}
const scale = Array.from({ length: C }, (_, i) => 1 + i / C), shift = Array.from({ length: C }, (_, i) => i / C - 0.5);
const variants: Record<string, Uint8Array> = {
  instnorm: model([n('InstanceNormalization', ['x', 's', 'b'], ['n'], [af('epsilon', 1e-3)]), n('Relu', ['n'], ['y'])], [f('s', [C], scale), f('b', [C], shift)]),
  reduce: model([
    n('ReduceMean', ['x', 'ax'], ['m'], [aint('keepdims', 1)]),
    n('Mul', ['x', 'x'], ['x2']),
    n('ReduceMean', ['x2', 'ax'], ['m2'], [aint('keepdims', 1)]),
    n('Mul', ['m', 'm'], ['mm']), n('Sub', ['m2', 'mm'], ['v']), n('Add', ['v', 'eps'], ['ve']), n('Sqrt', ['ve'], ['sd']),
    n('Div', ['s4', 'sd'], ['a']), n('Mul', ['m', 'a'], ['ma']), n('Sub', ['b4', 'ma'], ['bb']),
    n('Mul', ['x', 'a'], ['xa']), n('Add', ['xa', 'bb'], ['z']), n('Relu', ['z'], ['y']),
  ], [i64('ax', [2, 3]), f('eps', [1], [1e-3]), f('s4', [1, C, 1, 1], scale), f('b4', [1, C, 1, 1], shift)]),
  reduceSS: model([
    n('ReduceMean', ['x', 'ax'], ['m'], [aint('keepdims', 1)]),
    n('ReduceSumSquare', ['x', 'ax'], ['ss'], [aint('keepdims', 1)]),
    n('Mul', ['ss', 'inv'], ['m2']),
    n('Mul', ['m', 'm'], ['mm']), n('Sub', ['m2', 'mm'], ['v']), n('Add', ['v', 'eps'], ['ve']), n('Sqrt', ['ve'], ['sd']),
    n('Div', ['s4', 'sd'], ['a']), n('Mul', ['m', 'a'], ['ma']), n('Sub', ['b4', 'ma'], ['bb']),
    n('Mul', ['x', 'a'], ['xa']), n('Add', ['xa', 'bb'], ['z']), n('Relu', ['z'], ['y']),
  ], [i64('ax', [2, 3]), f('eps', [1], [1e-3]), f('inv', [1], [1 / (H * W)]), f('s4', [1, C, 1, 1], scale), f('b4', [1, C, 1, 1], shift)]),
  batchnorm: model([
    n('ReduceMean', ['x', 'ax'], ['m4'], [aint('keepdims', 1)]),
    n('ReduceSumSquare', ['x', 'ax'], ['ss'], [aint('keepdims', 1)]),
    n('Mul', ['ss', 'inv'], ['m2']), n('Mul', ['m4', 'm4'], ['mm']), n('Sub', ['m2', 'mm'], ['v4']),
    n('Reshape', ['m4', 'shp'], ['m']), n('Reshape', ['v4', 'shp'], ['v']),
    n('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['z'], [af('epsilon', 1e-3)]), n('Relu', ['z'], ['y']),
  ], [i64('ax', [2, 3]), i64('shp', [C]), f('inv', [1], [1 / (H * W)]), f('s', [C], scale), f('b', [C], shift)]),
};
(async () => {
  const x = new Float32Array(C * H * W); for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.001) * 3 + (i % 7);
  const t = new ort.Tensor('float32', x, [1, C, H, W]);
  let ref: Float32Array | undefined;
  for (const [name, m] of Object.entries(variants)) {
    const s = await ort.InferenceSession.create(m, { executionProviders: ['cpu'] });
    let out = (await s.run({ x: t })).y.data as Float32Array;
    const times = [];
    for (let r = 0; r < 5; r++) { const t0 = performance.now(); out = (await s.run({ x: t })).y.data as Float32Array; times.push(performance.now() - t0); }
    times.sort((a, b) => a - b);
    let maxd = 0; if (ref) for (let i = 0; i < out.length; i++) maxd = Math.max(maxd, Math.abs(out[i] - ref[i])); else ref = out.slice();
    console.log(name.padEnd(10), `${times[2].toFixed(1)} ms`, `maxdiff ${maxd.toExponential(2)}`);
  }
})();
