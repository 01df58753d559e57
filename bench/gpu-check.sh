#!/usr/bin/env bash
# GPU check: runs the GPU-capable backends next to the CPU and prints the benchmark JSON lines
# plus a PSNR check of each GPU output against the CPU output of the same graph.
#
#   bash bench/gpu-check.sh --prepare   # here (needs node_modules): builds .tmp/gpu-check/
#   bash bench/gpu-check.sh             # on the GPU machine: uses only the working tree + .tmp/gpu-check
#
# The GPU machine has no internet and gets only the working tree plus carried ignored paths
# (64 MiB): carry [".tmp/gpu-check"] (~50 MiB: the bench bundles, onnxruntime-node's JS and its
# linux-x64 native library, onnxruntime-common, and the Vulkan loader libvulkan.so.1 from
# Debian's libvulkan1, which ONNX Runtime's WebGPU provider (Dawn) needs on Linux).
# What it tries there:
#   - ONNX Runtime WebGPU provider (bundled in onnxruntime-node; Vulkan through the NVIDIA
#     driver's ICD) — the vendor-neutral GPU path for stylizing;
#   - ONNX Runtime CUDA provider — needs libonnxruntime_providers_cuda.so, which comes from
#     NuGet (not reachable there), so it reports itself unavailable with the reason;
#   - tfjs-node-gpu — cannot be installed offline, reported unavailable;
#   - the CPU reference and fast graphs on the same (16-core) machine for comparison;
#   - one training step at 256², batch 4 (VGG19 to relu5_1, random weights) as one ONNX Runtime
#     graph (bench/train-step-onnx.ts) on the CPU, CUDA and WebGPU providers: a figure each, or
#     one line saying why the provider is unavailable.
# Weights are seeded random and the input synthetic (no shared data, no sharp there); timings
# do not depend on the weights, and the PSNR check compares two runtimes on the same graph.
# Budget: ≤ 12 minutes on an H100 (each figure is capped at 150 s; training ≤ 4 minutes of it).
set -u
cd "$(dirname "$0")/.."
# ONNX Runtime's telemetry off (src/protocol/telemetry.ts).
export ORT_DISABLE_TELEMETRY=1
BUNDLE=.tmp/gpu-check

if [ "${1:-}" = "--prepare" ]; then
  set -e
  rm -rf "$BUNDLE" && mkdir -p "$BUNDLE/node_modules" "$BUNDLE/lib"
  node -e "
    require('esbuild').buildSync({
      entryPoints: { stylize: 'bench/stylize.ts', compare: 'bench/compare.ts', 'train-step-onnx': 'bench/train-step-onnx.ts' }, outdir: '$BUNDLE', bundle: true,
      platform: 'node', format: 'cjs', target: 'node20', mainFields: ['module', 'main'], logLevel: 'warning',
      external: ['onnxruntime-node', 'sharp', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu'],
    });"
  ORT=node_modules/onnxruntime-node
  mkdir -p "$BUNDLE/$ORT/bin/napi-v6/linux"
  cp -r "$ORT/package.json" "$ORT/dist" "$BUNDLE/$ORT/"
  cp -r "$ORT/bin/napi-v6/linux/x64" "$BUNDLE/$ORT/bin/napi-v6/linux/"
  cp -r node_modules/onnxruntime-common "$BUNDLE/node_modules/"
  # The Vulkan loader, from Debian (the GPU machine's driver brings the ICD, maybe not the loader).
  tmp=$(mktemp -d)
  if (cd "$tmp" && apt-get download libvulkan1 >/dev/null 2>&1); then
    dpkg -x "$tmp"/libvulkan1_*.deb "$tmp/x"
    cp -L "$tmp"/x/usr/lib/*/libvulkan.so.1 "$BUNDLE/lib/" && echo "bundled libvulkan.so.1 ($(dpkg -f "$tmp"/libvulkan1_*.deb Version))" >&2
  else
    echo "note: could not download libvulkan1; WebGPU will need the GPU machine's own Vulkan loader" >&2
  fi
  rm -rf "$tmp"
  du -sh "$BUNDLE" >&2
  echo "prepared $BUNDLE; carry it: [\".tmp/gpu-check\"]" >&2
  exit 0
fi

OUT_DIR="${OUT:-$(mktemp -d)}/gpu-check"
mkdir -p "$OUT_DIR"
if ! command -v node >/dev/null 2>&1; then
  echo '{"type":"gpu-check","available":false,"reason":"node is not installed on this machine (Node.js 20 or newer is needed)"}'
  exit 1
fi
if [ ! -f "$BUNDLE/stylize.js" ]; then
  echo "{\"type\":\"gpu-check\",\"available\":false,\"reason\":\"$BUNDLE is missing: run bash bench/gpu-check.sh --prepare first and carry .tmp/gpu-check\"}"
  exit 1
fi
# Facts about the machine, as JSON (stderr gets the human notes).
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"; } | sed 's/^/gpu: /' >&2
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null | sed 's/^/vulkan icd: /' >&2
export LD_LIBRARY_PATH="$PWD/$BUNDLE/lib:${LD_LIBRARY_PATH:-}"
export FST_BENCH_BUNDLE="$PWD/$BUNDLE"
SIZES="${GPU_CHECK_SIZES:-256,512,1024,4096}"
# Training first (a few minutes at most): the 256² batch-4 step on the CPU, CUDA and WebGPU providers.
timeout 240 node bench/run.mjs --gpu --only train --reps 3 --timeout 150
timeout 450 node bench/run.mjs --gpu --only stylize --sizes "$SIZES" --reps 3 --timeout 150 --out "$OUT_DIR"
timeout 60 node bench/psnr.mjs "$OUT_DIR"
