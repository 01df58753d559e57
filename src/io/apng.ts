// Animated PNG (APNG): sharp reads only its first frame, so an APNG goes through ffmpeg (its
// apng demuxer and encoder) like a clip without audio. An APNG is a PNG whose acTL chunk
// (animation control: frame count, plays) comes before its first IDAT; this reads the chunk
// headers only, never the image data.
import fsp from 'node:fs/promises';

export interface ApngControl {
  /** Frames the acTL chunk announces. */
  readonly frames: number;
  /** Times to play (0 = for ever). */
  readonly plays: number;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Chunks looked at before giving up (a PNG has a handful before its image data). */
const MAX_CHUNKS = 256;

/** The animation control of an APNG, or undefined for a still PNG (or anything else). */
export async function readApngControl(file: string): Promise<ApngControl | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(16);
    if ((await fh.read(head, 0, 8, 0)).bytesRead < 8 || SIGNATURE.some((b, i) => head[i] !== b)) return undefined;
    let at = 8;
    for (let n = 0; n < MAX_CHUNKS; n++) {
      if ((await fh.read(head, 0, 8, at)).bytesRead < 8) return undefined;
      const length = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (type === 'IDAT' || type === 'IEND') return undefined;
      if (type === 'acTL') {
        if (length !== 8 || (await fh.read(head, 8, 8, at + 8)).bytesRead < 8) return undefined;
        const frames = head.readUInt32BE(8);
        return frames > 0 ? { frames, plays: head.readUInt32BE(12) } : undefined;
      }
      at += 12 + length;
    }
    return undefined;
  } finally {
    await fh.close();
  }
}

/** Whether `file` is an animated PNG (extension .png or .apng, acTL before IDAT). */
export async function isApngFile(file: string): Promise<boolean> {
  if (!/\.a?png$/i.test(file)) return false;
  return (await readApngControl(file)) !== undefined;
}
