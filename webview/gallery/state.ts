// The page's UI state (selection, controls, blend, tab, divider), kept with setState and
// restored when the webview is rebuilt after being hidden. One object: each component is handed
// the slice it owns (a Pick of UiState) and changes only that; the page stores the whole.
import type { GalleryImage, PreviewSize } from '../../src/protocol/gallery';
import type { ColorMode, OutputFormat } from '../../src/protocol/jobs';
import type { StyleOrigin } from '../../src/protocol/styles';
import { NO_BLEND, restoreBlend, type BlendState } from './blend';
import { storedState } from './host';

export const SCALES = [0.25, 0.5, 0.75, 1, 1.5, 2];
export const FORMAT_LABELS: Record<OutputFormat, string> = {
  same: 'Same as input',
  png: 'PNG',
  jpeg: 'JPEG',
  webp: 'WebP',
  avif: 'AVIF',
  tiff: 'TIFF',
  gif: 'GIF',
};

export type Filter = 'all' | StyleOrigin;
export type StopIntent = 'pause' | 'cancel';
export type Tab = 'gallery' | 'training';

export interface UiState {
  v: 1;
  tab: Tab;
  styleId?: string;
  image?: GalleryImage;
  strength: number;
  colorMode: ColorMode;
  scale: number;
  format: OutputFormat;
  size: PreviewSize;
  search: string;
  filter: Filter;
  split: number;
  /** Styles mixed into the selected one (panel only). */
  blend: BlendState;
  saved?: { path: string; displayPath: string };
  stopIntent?: StopIntent;
  /** The frame picker's frame of the clip shown (framePicker.ts). */
  frame?: { token: string; index: number };
}

export const INITIAL_STATE: Readonly<UiState> = {
  v: 1,
  tab: 'gallery',
  strength: 1,
  colorMode: 'none',
  scale: 1,
  format: 'same',
  size: 'preview',
  search: '',
  filter: 'all',
  split: 50,
  blend: NO_BLEND,
};

/** The stored state, each field checked (it comes from an older page, perhaps an older version). */
export function restoreState(): UiState | undefined {
  const s = storedState() as Partial<UiState> | undefined;
  if (!s || s.v !== 1) return undefined;
  const colorOk = s.colorMode === 'none' || s.colorMode === 'luminance' || s.colorMode === 'histogram';
  return {
    v: 1,
    tab: s.tab === 'training' ? 'training' : 'gallery',
    styleId: typeof s.styleId === 'string' ? s.styleId : undefined,
    image: s.image && typeof s.image.token === 'string' ? s.image : undefined,
    strength: typeof s.strength === 'number' && s.strength >= 0 && s.strength <= 1 ? s.strength : 1,
    colorMode: colorOk ? s.colorMode! : 'none',
    scale: typeof s.scale === 'number' && SCALES.includes(s.scale) ? s.scale : 1,
    format: typeof s.format === 'string' && s.format in FORMAT_LABELS ? s.format : 'same',
    size: s.size === 'full' ? 'full' : 'preview',
    search: typeof s.search === 'string' ? s.search : '',
    filter: s.filter === 'bundled' || s.filter === 'trained' || s.filter === 'imported' ? s.filter : 'all',
    split: typeof s.split === 'number' ? s.split : 50,
    blend: restoreBlend(s.blend),
    saved: s.saved && typeof s.saved.path === 'string' ? s.saved : undefined,
    stopIntent: s.stopIntent === 'pause' || s.stopIntent === 'cancel' ? s.stopIntent : undefined,
    frame:
      s.frame && typeof s.frame.token === 'string' && Number.isInteger(s.frame.index) && s.frame.index >= 0
        ? { token: s.frame.token, index: s.frame.index }
        : undefined,
  };
}
