// A minimal baseline TIFF writer for tests (TIFF 6.0, little-endian, one uncompressed strip):
// lets a test state exact CMYK ink values, which no sRGB-first encoder will write verbatim.

/** Uncompressed 8-bit CMYK (PhotometricInterpretation 5, InkSet 1) from interleaved C,M,Y,K bytes. */
export function makeCmykTiff(width: number, height: number, cmyk: ArrayLike<number>): Buffer {
  const pixels = Buffer.from(Uint8Array.from(cmyk));
  if (pixels.length !== width * height * 4) throw new Error('makeCmykTiff: expected width × height × 4 values');
  // [tag, type (3 SHORT, 4 LONG), count, value or offset]
  const bitsOffset = 8;
  const dataOffset = bitsOffset + 8;
  const entries: Array<[number, number, number, number]> = [
    [256, 4, 1, width], // ImageWidth
    [257, 4, 1, height], // ImageLength
    [258, 3, 4, bitsOffset], // BitsPerSample 8,8,8,8 (stored at bitsOffset)
    [259, 3, 1, 1], // Compression: none
    [262, 3, 1, 5], // PhotometricInterpretation: separated (CMYK)
    [273, 4, 1, dataOffset], // StripOffsets
    [277, 3, 1, 4], // SamplesPerPixel
    [278, 4, 1, height], // RowsPerStrip
    [279, 4, 1, pixels.length], // StripByteCounts
    [284, 3, 1, 1], // PlanarConfiguration: chunky
    [332, 3, 1, 1], // InkSet: CMYK
  ];
  const ifdOffset = dataOffset + pixels.length + (pixels.length % 2); // word-aligned
  const out = Buffer.alloc(ifdOffset + 2 + entries.length * 12 + 4);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(ifdOffset, 4);
  for (let i = 0; i < 4; i++) out.writeUInt16LE(8, bitsOffset + i * 2);
  pixels.copy(out, dataOffset);
  out.writeUInt16LE(entries.length, ifdOffset);
  entries.forEach(([tag, type, count, value], i) => {
    const at = ifdOffset + 2 + i * 12;
    out.writeUInt16LE(tag, at);
    out.writeUInt16LE(type, at + 2);
    out.writeUInt32LE(count, at + 4);
    if (type === 3 && count === 1) out.writeUInt16LE(value, at + 8);
    else out.writeUInt32LE(value, at + 8);
  });
  out.writeUInt32LE(0, ifdOffset + 2 + entries.length * 12); // no next IFD
  return out;
}
