// What the gallery's clip jobs (src/engine/video/clipJobs.ts) take and answer: the facts of a
// clip for the frame picker, and how a stylized clip is played in a webview.
import type { EncodedImage, StylizeOptions } from './jobs';

/** Where the clip jobs find ffmpeg (as StylizeOptions says). */
export type ClipToolsOptions = Pick<StylizeOptions, 'ffmpegPath' | 'videoToolsDir'>;

/** What the gallery's frame picker knows of a clip. */
export interface ClipInfo {
  /** 'video': through ffmpeg (containers and animated PNG); 'animated': a GIF or WebP through sharp. */
  readonly kind: 'video' | 'animated' | 'still';
  readonly duration: number;
  readonly frameCount: number;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
}

/** How the gallery plays a stylized clip. */
export type ClipPlayback =
  /** A WebM written by the job (played from its file), with the encoder used. */
  | { readonly kind: 'webm'; readonly file: string; readonly encoder: string }
  /** An animated GIF, WebP or PNG as it is (a webview shows those in an <img>). */
  | { readonly kind: 'image'; readonly image: EncodedImage }
  /** The fallback where ffmpeg has no VP8/VP9 encoder: JPEG frames shown in turn at `fps`. */
  | { readonly kind: 'frames'; readonly frames: readonly EncodedImage[]; readonly fps: number };
