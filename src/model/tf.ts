// The single entry point to TensorFlow.js for the whole engine: everything imports `tf` from
// this file. The library itself (tfjsLibrary.ts, dist/tfjs.js in the bundles) loads on the
// first use of `tf`, so processes that only stylize on ONNX Runtime never compile or start it.
import type * as TfCore from '@tensorflow/tfjs-core';
import { StyleTransferError, messageOf } from '../protocol/errors';

type Library = typeof import('./tfjsLibrary');
let library: Library | undefined;

/** The tfjs libraries, loaded on the first call; a 'backend' error when they cannot load. */
export function tfjsLibrary(): Library {
  if (library) return library;
  try {
    // A plain require of a relative path: the bundles map it to their sibling dist/tfjs.js.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    library = require('./tfjsLibrary') as Library;
  } catch (e) {
    throw new StyleTransferError('backend', `TensorFlow.js cannot be loaded: ${messageOf(e).split('\n')[0]}`);
  }
  return library;
}

/** tfjs-core's namespace; reading any member loads the library. */
export const tf: typeof TfCore = new Proxy({} as typeof TfCore, {
  get: (_target, key) => (tfjsLibrary().core as unknown as Record<string | symbol, unknown>)[key],
  has: (_target, key) => key in tfjsLibrary().core,
});

export type { Tensor, Tensor1D, Tensor3D, Tensor4D, Scalar, Variable, NamedTensorMap } from '@tensorflow/tfjs-core';

/* eslint-disable @typescript-eslint/no-namespace -- the types must be reachable as `tf.…` like the values */
/** tfjs-core's types under the same name, for `tf.Tensor4D` and the like in type positions. */
export declare namespace tf {
  export type Rank = TfCore.Rank;
  export type Tensor<R extends Rank = Rank> = TfCore.Tensor<R>;
  export type Scalar = TfCore.Scalar;
  export type Tensor1D = TfCore.Tensor1D;
  export type Tensor3D = TfCore.Tensor3D;
  export type Tensor4D = TfCore.Tensor4D;
  export type Variable<R extends Rank = Rank> = TfCore.Variable<R>;
  export type NamedAttrMap = TfCore.NamedAttrMap;
  export type GradSaveFunc = TfCore.GradSaveFunc;
  export namespace backend_util {
    export type ExplicitPadding = TfCore.backend_util.ExplicitPadding;
    export type Conv2DInfo = TfCore.backend_util.Conv2DInfo;
  }
}
/* eslint-enable @typescript-eslint/no-namespace */
