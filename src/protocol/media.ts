// File extensions of moving media, shared by the engine (which stylizes them frame by frame)
// and the editor commands (which offer them): one list each.

/** Video containers, stylized frame by frame through ffmpeg. */
export const VIDEO_EXTENSIONS: readonly string[] = ['.mp4', '.m4v', '.mov', '.webm', '.mkv'];

/** Image formats that can hold an animation: stylized frame by frame when they have several frames. */
export const ANIMATED_IMAGE_EXTENSIONS: readonly string[] = ['.gif', '.webp'];
