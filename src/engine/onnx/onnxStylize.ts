// Running an image through an ONNX style session: reflection padding to the size multiple with
// HWC → CHW, the run, and the crop back to HWC (split from onnxRunner.ts, which loads the runtime).
import type * as Ort from 'onnxruntime-node';
import { SIZE_MULTIPLE, type BorderPadding } from '../../model/architecture';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from '../../model/onnx/onnxExport';
import { hwcToChw, reflectIndex, roundUpTo, type FloatImage } from '../../model/pixels';
import { StyleTransferError } from '../../protocol/errors';
import { firstLine, type OnnxStyleSession } from './onnxRunner';

/** A network input: CHW `data` of `width`×`height`, and where the image lies in the `outWidth`×`outHeight` output. */
export interface ChwInput {
  data: Float32Array;
  width: number;
  height: number;
  top: number;
  left: number;
  outWidth: number;
  outHeight: number;
}

/**
 * Pads top/left by reflection to a multiple and converts HWC → CHW in one pass. With 'zero'
 * border padding (architecture.ts) the image goes in unpadded and only the output is
 * 4·⌈H/4⌉ × 4·⌈W/4⌉, its image starting at (left, top) all the same.
 */
export function padToChw(img: FloatImage, multiple: number, padding: BorderPadding = 'reflect'): ChwInput {
  const H = roundUpTo(img.height, multiple);
  const W = roundUpTo(img.width, multiple);
  const top = H - img.height;
  const left = W - img.width;
  if (padding === 'zero')
    return { data: hwcToChw(img), width: img.width, height: img.height, top, left, outWidth: W, outHeight: H };
  const C = img.channels;
  const plane = H * W;
  const out = new Float32Array(plane * C);
  const cols = new Int32Array(W);
  for (let x = 0; x < W; x++) cols[x] = reflectIndex(x - left, img.width) * C;
  for (let y = 0; y < H; y++) {
    const row = reflectIndex(y - top, img.height) * img.width * C;
    const d = y * W;
    for (let x = 0; x < W; x++) {
      const s = row + cols[x];
      for (let k = 0; k < C; k++) out[k * plane + d + x] = img.data[s + k];
    }
  }
  return { data: out, width: W, height: H, top, left, outWidth: W, outHeight: H };
}

/** Crops a CHW plane set to `width`×`height` at (`left`, `top`) and converts CHW → HWC in one pass. */
export function cropChwToHwc(
  data: Float32Array,
  fullWidth: number,
  fullHeight: number,
  channels: number,
  left: number,
  top: number,
  width: number,
  height: number,
): FloatImage {
  const plane = fullWidth * fullHeight;
  const out = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const s = (top + y) * fullWidth + left;
    const d = y * width * channels;
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < channels; k++) out[d + x * channels + k] = data[k * plane + s + x];
    }
  }
  return { width, height, channels, data: out };
}

/**
 * The network's output for `padded` as the image `img` was: its shape checked (a graph that
 * returns anything else is not a style network), cropped back and converted to HWC.
 */
export function imageFromOutput(output: Ort.Tensor, padded: ChwInput, img: FloatImage): FloatImage {
  const dims = output.dims;
  if (
    output.type !== 'float32' ||
    dims.length !== 4 ||
    dims[1] !== 3 ||
    dims[2] !== padded.outHeight ||
    dims[3] !== padded.outWidth
  ) {
    throw new StyleTransferError(
      'bad-checkpoint',
      `the ONNX model returned a ${output.type} tensor of shape [${dims.join(', ')}] for input [1, 3, ${padded.height}, ${padded.width}]`,
    );
  }
  const { outWidth, outHeight, left, top } = padded;
  return cropChwToHwc(output.data as Float32Array, outWidth, outHeight, 3, left, top, img.width, img.height);
}

/** Refuses ('bad-input') an image that is not RGB or whose data does not fill its size. */
export function checkImage(img: FloatImage): void {
  if (img.channels !== 3)
    throw new StyleTransferError('bad-input', `stylize expects RGB input, got ${img.channels} channels`);
  if (img.width < 1 || img.height < 1 || img.data.length !== img.width * img.height * 3) {
    throw new StyleTransferError(
      'bad-input',
      `stylize: image of ${img.width}×${img.height} has ${img.data.length} values`,
    );
  }
}

/**
 * Stylizes an RGB float image (0..255) with a session made by createOnnxSession from the core
 * (not self-contained) export: pads to the size multiple, runs, crops back. The result has
 * exactly the input's size and is unclamped, like stylizeWithTfjs. `padding` must be the
 * architecture's (borderPadding), the mode the model was exported for. onnxruntime-node runs the
 * model synchronously on this thread (inside a setImmediate), so a worker handles no messages
 * during one image: cancel between images.
 */
export async function stylizeWithOnnx(
  s: OnnxStyleSession,
  img: FloatImage,
  padding: BorderPadding = 'reflect',
): Promise<FloatImage> {
  checkImage(img);
  return s._use(async () => {
    const padded = padToChw(img, SIZE_MULTIPLE, padding);
    const input = new s.runtime.Tensor('float32', padded.data, [1, 3, padded.height, padded.width]);
    let output: Ort.Tensor | undefined;
    try {
      const result = await s.session.run({ [ONNX_INPUT_NAME]: input });
      output = result[ONNX_OUTPUT_NAME] as Ort.Tensor;
      return imageFromOutput(output, padded, img);
    } catch (e) {
      if (e instanceof StyleTransferError) throw e;
      throw new StyleTransferError(
        'backend',
        `ONNX Runtime (${s.provider}) failed on a ${img.width}×${img.height} image: ${firstLine(e)}`,
      );
    } finally {
      input.dispose();
      output?.dispose();
    }
  });
}
