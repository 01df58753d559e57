// PSNR of GPU outputs against the CPU output of the same graph, from the float32 files that
// `bench/run.mjs --gpu --out DIR` saves (NCHW-free HWC floats, clamped to 0..255 here).
//   node bench/psnr.mjs DIR   → one JSON line per GPU output
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (!dir || !fs.existsSync(dir)) {
  console.log(JSON.stringify({ type: 'psnr', available: false, reason: `no output folder ${dir}` }));
  process.exit(0);
}
const read = (f) => {
  const b = fs.readFileSync(path.join(dir, f));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const clamp = (v) => Math.min(255, Math.max(0, v));
let found = 0;
for (const f of fs.readdirSync(dir).sort()) {
  const m = /^(webgpu|cuda|tfjs-node-gpu)-(?:fp32-)?(\d+)\.f32$/.exec(f);
  if (!m) continue;
  const ref = `cpu-fp32-${m[2]}.f32`;
  if (!fs.existsSync(path.join(dir, ref))) continue;
  const a = read(ref),
    b = read(f);
  if (a.length !== b.length) {
    console.log(
      JSON.stringify({
        type: 'psnr',
        backend: m[1],
        size: +m[2],
        available: false,
        reason: `sizes differ (${a.length} vs ${b.length})`,
      }),
    );
    continue;
  }
  let se = 0,
    maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const d = clamp(a[i]) - clamp(b[i]);
    se += d * d;
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  const psnr = se === 0 ? Infinity : 10 * Math.log10((255 * 255 * a.length) / se);
  found++;
  console.log(
    JSON.stringify({
      type: 'psnr',
      backend: m[1],
      size: +m[2],
      against: 'onnxruntime-cpu-fp32',
      psnrDb: Number.isFinite(psnr) ? +psnr.toFixed(2) : 'identical',
      maxAbsDiff: +maxAbs.toFixed(3),
      pass: psnr >= 40,
    }),
  );
}
if (!found)
  console.log(
    JSON.stringify({ type: 'psnr', available: false, reason: 'no GPU output to compare (no GPU backend ran)' }),
  );
