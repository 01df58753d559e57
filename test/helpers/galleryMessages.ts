// Gallery webview messages as tests send them: a valid 'preview' or 'save' of one image in one style,
// changed field by field where a test needs another (a hostile value, a blend).

/** A 'preview' of image `imageToken` in style `styleId` (request 1, preview size, scale 1), changed in `over`. */
export function previewMessage(imageToken: string, styleId: string, over: Record<string, unknown> = {}) {
  return { type: 'preview', requestId: 1, imageToken, styleId, size: 'preview', scale: 1, ...over };
}

/** A 'save' of image `imageToken` in style `styleId` (strength 1, colours as stylized, PNG, scale 1), changed in `over`. */
export function saveMessage(imageToken: string, styleId: string, over: Record<string, unknown> = {}) {
  return {
    type: 'save',
    mode: 'save',
    imageToken,
    styleId,
    strength: 1,
    colorMode: 'none',
    format: 'png',
    scale: 1,
    ...over,
  };
}
