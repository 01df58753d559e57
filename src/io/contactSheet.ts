// A contact sheet for `fst evaluate`: one row per photo (photo | stylized | stylized by the
// compared style…), each picture fitted into a fixed cell, and the painting small in the top-left
// corner, on a band above the rows. Fixed cells keep the sheet's size predictable (a script or
// a test can check it) whatever the photos' shapes.
import type { RgbBytes } from '../model/pixels';
import { StyleTransferError } from '../protocol/errors';
import { resizeImage8 } from './image';

export const SHEET_LAYOUT = Object.freeze({ cellWidth: 384, cellHeight: 288, gap: 8, bandHeight: 144, background: 40 });

export type SheetLayout = typeof SHEET_LAYOUT;

/** The sheet's size for `rows` rows of `columns` pictures. */
export function sheetSize(
  rows: number,
  columns: number,
  layout: SheetLayout = SHEET_LAYOUT,
): { width: number; height: number } {
  const { cellWidth, cellHeight, gap, bandHeight } = layout;
  return { width: gap + columns * (cellWidth + gap), height: gap + bandHeight + gap + rows * (cellHeight + gap) };
}

function blit(dst: RgbBytes, src: RgbBytes, left: number, top: number): void {
  for (let y = 0; y < src.height; y++) {
    const from = y * src.width * 3;
    dst.data.set(src.data.subarray(from, from + src.width * 3), ((top + y) * dst.width + left) * 3);
  }
}

/** Fits `img` inside the w × h box at (left, top), enlarged or shrunk, and centres it there. */
async function place(sheet: RgbBytes, img: RgbBytes, left: number, top: number, w: number, h: number): Promise<void> {
  const fitted = await resizeImage8(
    { width: img.width, height: img.height, rgb: img },
    { width: w, height: h, fit: 'inside', enlarge: true },
  );
  blit(sheet, fitted.rgb, left + Math.floor((w - fitted.width) / 2), top + Math.floor((h - fitted.height) / 2));
}

/** Composes the sheet: `rows[i]` are the pictures of row i, left to right (all rows the same length). */
export async function composeContactSheet(
  rows: readonly (readonly RgbBytes[])[],
  painting: RgbBytes,
  layout: SheetLayout = SHEET_LAYOUT,
): Promise<RgbBytes> {
  const columns = rows[0]?.length ?? 0;
  if (rows.length === 0 || columns === 0)
    throw new StyleTransferError('bad-input', 'a contact sheet needs at least one picture');
  if (rows.some((r) => r.length !== columns))
    throw new StyleTransferError('bad-input', 'every row of a contact sheet needs the same number of pictures');
  const { width, height } = sheetSize(rows.length, columns, layout);
  const sheet: RgbBytes = { width, height, data: new Uint8Array(width * height * 3).fill(layout.background) };
  const { cellWidth, cellHeight, gap, bandHeight } = layout;
  // The painting: left-aligned in the band (placed, then shifted to the corner).
  const thumb = await resizeImage8(
    { width: painting.width, height: painting.height, rgb: painting },
    { width: cellWidth, height: bandHeight, fit: 'inside', enlarge: true },
  );
  blit(sheet, thumb.rgb, gap, gap + Math.floor((bandHeight - thumb.height) / 2));
  for (const [r, row] of rows.entries()) {
    const top = gap + bandHeight + gap + r * (cellHeight + gap);
    for (const [c, img] of row.entries())
      await place(sheet, img, gap + c * (cellWidth + gap), top, cellWidth, cellHeight);
  }
  return sheet;
}
