// The image files the editor offers for stylizing (pickers, context checks, the gallery).
export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'avif', 'tif', 'tiff', 'gif'];
export const IMAGE_FILTERS = { Images: IMAGE_EXTENSIONS };

export function isImagePath(p: string): boolean {
  const ext = p.toLowerCase().split('.').pop() ?? '';
  return IMAGE_EXTENSIONS.includes(ext);
}
