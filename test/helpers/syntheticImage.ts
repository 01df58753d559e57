// A deterministic, textured test image (identical on every run and backend).
import type { FloatImage } from '../../src/model/pixels';

/**
 * An RGB image of crossed sine waves, different per channel (edges and gradients, so layout mistakes show), plus
 * `step(x, y)`: by default +20 right of the middle and −20 left of it.
 */
export function syntheticImage(
  width: number,
  height: number,
  seed = 1,
  step: (x: number, y: number) => number = (x) => (x > width / 2 ? 20 : -20),
): FloatImage {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) {
        const v =
          127.5 + 100 * Math.sin((x * (c + 1) + seed) * 0.21) * Math.cos((y * (3 - c) + 2 * seed) * 0.13) + step(x, y);
        data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, v));
      }
  return { width, height, channels: 3, data };
}
