// The VGG19 loss network on tfjs: 3×3 SAME convs with bias and ReLU, 2×2 stride-2 max pooling,
// run only as far as the deepest activation asked for. The weights (from src/io) say how the
// input must be prepared (channel order and mean); callers always pass RGB in 0..255.
import { frozenConv2dRelu } from './frozenConv';
import { tf, type Tensor1D, type Tensor4D } from './tf';
import { StyleTransferError } from '../protocol/errors';
import {
  VGG19_LAYERS,
  availableVggLayers,
  missingLayerError,
  validateVggWeights,
  vggLayerIndex,
  type VggWeights,
} from './vggSpec';

export * from './vggSpec';

export class Vgg19 {
  readonly source: VggWeights['source'];
  readonly origin?: string;
  readonly channelOrder: 'rgb' | 'bgr';
  readonly mean: readonly [number, number, number];
  private readonly kernels = new Map<string, Tensor4D>();
  private readonly biases = new Map<string, Tensor1D>();
  private readonly meanTensor: Tensor1D;
  private readonly available: readonly string[];
  private readonly layerNames: readonly { readonly name: string }[];
  private disposed = false;

  private constructor(w: VggWeights) {
    this.source = w.source;
    this.origin = w.origin;
    this.channelOrder = w.channelOrder;
    this.mean = [w.mean[0], w.mean[1], w.mean[2]];
    for (const l of w.layers) {
      this.kernels.set(l.name, tf.tensor4d(l.kernel, [3, 3, l.inChannels, l.outChannels], 'float32'));
      this.biases.set(l.name, tf.tensor1d(l.bias, 'float32'));
    }
    this.meanTensor = tf.tensor1d([...this.mean], 'float32');
    this.available = Object.freeze(availableVggLayers(w));
    // Keep only the names for error messages, not the weight arrays.
    this.layerNames = w.layers.map((l) => ({ name: l.name }));
  }

  /** A network holding `w` as constant tensors (validated first). */
  static fromWeights(w: VggWeights): Vgg19 {
    validateVggWeights(w);
    return new Vgg19(w);
  }

  /** Activations these weights can compute, in forward order (conv1_1, relu1_1, …). */
  availableLayers(): string[] {
    return [...this.available];
  }

  /** Output channels of a layer with these weights. */
  channelsOf(layer: string): number {
    this.checkLayers([layer]);
    const spec = VGG19_LAYERS[vggLayerIndex(layer)];
    return this.kernels.get(spec.needsConv)!.shape[3];
  }

  /** Throws the precise error for the first name that is unknown or beyond these weights. */
  checkLayers(layers: readonly string[]): void {
    for (const name of layers) {
      vggLayerIndex(name); // unknown names → bad-input
      if (!this.available.includes(name))
        throw missingLayerError({ source: this.source, origin: this.origin, layers: this.layerNames }, name);
    }
  }

  /**
   * Activations for `rgb0to255` ([batch, H, W, 3], RGB, 0..255). The returned tensors belong
   * to the caller; intermediates are freed. Safe inside a gradient tape.
   */
  features(rgb0to255: Tensor4D, layers: readonly string[]): Record<string, Tensor4D> {
    if (this.disposed) throw new StyleTransferError('internal', 'VGG network was disposed');
    if (layers.length === 0) return {};
    this.checkLayers(layers);
    if (rgb0to255.rank !== 4 || rgb0to255.shape[3] !== 3) {
      throw new StyleTransferError(
        'bad-input',
        `VGG input must be [batch, height, width, 3], got [${rgb0to255.shape.join(', ')}]`,
      );
    }
    const wanted = new Set(layers);
    const last = Math.max(...layers.map(vggLayerIndex));
    return tf.tidy(() => {
      const out: Record<string, Tensor4D> = {};
      const ordered = this.channelOrder === 'bgr' ? tf.reverse(rgb0to255, 3) : rgb0to255;
      let x = tf.sub(ordered, this.meanTensor) as Tensor4D;
      for (let i = 0; i <= last; i++) {
        const spec = VGG19_LAYERS[i];
        if (spec.kind === 'conv') {
          const filter = this.kernels.get(spec.name)!;
          const bias = this.biases.get(spec.name)!;
          if (wanted.has(spec.name)) {
            const pre = tf.add(tf.conv2d(x, filter, 1, 'same'), bias) as Tensor4D;
            out[spec.name] = pre;
            x = tf.relu(pre);
          } else {
            // One fused kernel that keeps only its output for the backward pass (the weights are
            // constants; tf.fused.conv2d would unfuse under a tape and keep three tensors).
            x = frozenConv2dRelu(x, filter, bias, 'same');
          }
          i++; // the relu that follows is computed already
          if (wanted.has(VGG19_LAYERS[i].name)) out[VGG19_LAYERS[i].name] = x;
        } else if (spec.kind === 'pool') {
          // 'same' as in the reference implementation: for odd sizes the last row/column is kept.
          x = tf.maxPool(x, 2, 2, 'same');
          if (wanted.has(spec.name)) out[spec.name] = x;
        }
      }
      return out;
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.kernels.values()) t.dispose();
    for (const t of this.biases.values()) t.dispose();
    this.meanTensor.dispose();
  }
}
