// Identity for the wasm backend that shares the input's data instead of copying it.
//
// tfjs's engine clones (through this kernel) every tensor it saves for the backward pass.
// The backend's Identity copies the data, so under a gradient tape every saved activation
// exists twice: a training step at 256² needed twice the memory (batch 2 already filled
// the 4 GiB heap) and spent ~2 % of its time copying. tfjs tensors are immutable, so the
// copy is never needed; the cpu backend shares the data the same way. The backend's own
// kernels that start from a copy (and then write into it) call their internal identity
// function directly, not this registered kernel, and are unaffected.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

export function identityConfig(fallback: KernelFunc | undefined): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    if (x.dtype === 'string') {
      if (fallback == null) throw new Error('Identity on wasm: string tensors need the backend kernel');
      return fallback({ inputs, backend, attrs: attrs as NamedAttrMap });
    }
    (backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  return { kernelName: 'Identity', backendName: 'wasm', kernelFunc };
}
