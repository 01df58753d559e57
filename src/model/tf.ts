// The single entry point to TensorFlow.js for the whole engine. Importing tfjs-core's
// CommonJS entry alone registers no gradients, so the gradient registrations are pulled in
// here once; everything in src/model imports `tf` from this file.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';

// Silences tfjs's console nagging ("install tfjs-node") and skips debug-only checks.
tf.env().set('PROD', true);

export { tf };
export type { Tensor, Tensor1D, Tensor3D, Tensor4D, Scalar, Variable, NamedTensorMap } from '@tensorflow/tfjs-core';
