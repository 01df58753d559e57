// Dropping an image onto the preview: a file from the operating system is read here and sent
// as bytes (the host checks what they are); a file dragged from VS Code's Explorer arrives as a
// URI, sent as a path for the host's path guard to accept or refuse.
import { post } from './host';

const MAX_DROP_BYTES = 64 * 1024 * 1024;

export type Notice = (level: 'info' | 'error', message: string) => void;

export function installDrop(target: HTMLElement, notice: Notice): void {
  let depth = 0;
  const isFileDrag = (e: DragEvent) =>
    !!e.dataTransfer &&
    [...e.dataTransfer.types].some(
      (t) => t === 'Files' || t === 'text/uri-list' || t === 'application/vnd.code.uri-list',
    );
  target.addEventListener('dragenter', (e) => {
    if (!isFileDrag(e)) return;
    e.preventDefault();
    depth++;
    target.classList.add('drag-over');
  });
  target.addEventListener('dragover', (e) => {
    if (!isFileDrag(e)) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
  });
  target.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) target.classList.remove('drag-over');
  });
  target.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    target.classList.remove('drag-over');
    void onDrop(e.dataTransfer, notice);
  });
  // A drop elsewhere must not navigate the webview to the file.
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => e.preventDefault());
}

async function onDrop(dt: DataTransfer | null, notice: Notice): Promise<void> {
  if (!dt) return;
  const file = dt.files[0];
  if (file) {
    if (file.size > MAX_DROP_BYTES) {
      notice('error', `${file.name} is larger than 64 MB.`);
      return;
    }
    if (file.size === 0) {
      notice('error', `${file.name} is empty.`);
      return;
    }
    notice('info', `Reading ${file.name}…`);
    const bytes = new Uint8Array(await file.arrayBuffer());
    post({ type: 'dropImage', name: file.name.replace(/[\\/]/g, '_').slice(0, 255) || 'image', bytes });
    return;
  }
  const list = dt.getData('application/vnd.code.uri-list') || dt.getData('text/uri-list');
  const first = list
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith('#'));
  if (!first) return;
  try {
    const u = new URL(first);
    let p = decodeURIComponent(u.pathname);
    if (/^\/[A-Za-z]:[\\/]/.test(p)) p = p.slice(1); // file:///c:/… on Windows
    post({ type: 'openImagePath', path: p });
  } catch {
    notice('error', 'That drop did not contain a file.');
  }
}
