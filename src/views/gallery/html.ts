// The gallery's HTML shell: a strict Content Security Policy (a fresh nonce per load, no
// inline code, no remote origins, no eval), the bundle and the codicon font from
// dist/webview only. Everything else is built by webview/gallery/main.ts.
import crypto from 'node:crypto';
import type * as vscode from 'vscode';
import type { GalleryLayout } from '../../protocol/gallery';

export function makeNonce(): string {
  return crypto
    .randomBytes(18)
    .toString('base64')
    .replace(/[+/=]/g, (c) => (c === '+' ? 'A' : c === '/' ? 'B' : ''));
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} blob: data:`,
    // Stylized clips play from the extension's storage (a WebM, views/gallery/clips.ts).
    `media-src ${cspSource}`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
  ].join('; ');
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function galleryHtml(
  webview: vscode.Webview,
  bundleRoot: vscode.Uri,
  layout: GalleryLayout,
  joinPath: (base: vscode.Uri, ...p: string[]) => vscode.Uri,
): string {
  const nonce = makeNonce();
  const uri = (f: string) => escapeAttr(webview.asWebviewUri(joinPath(bundleRoot, f)).toString());
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(webview.cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${uri('codicon.css')}" id="vscode-codicon-stylesheet" nonce="${nonce}">
<link rel="stylesheet" href="${uri('gallery.css')}" nonce="${nonce}">
<title>Style Gallery</title>
</head>
<body data-layout="${layout}">
<div id="app" class="app" aria-busy="true"></div>
<script type="module" nonce="${nonce}" src="${uri('gallery.js')}"></script>
</body>
</html>`;
}
