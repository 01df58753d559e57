// A tiny element builder: no framework, no innerHTML (nothing from the host is ever parsed
// as markup), and no inline style attributes (the CSP forbids them; styles set through the
// CSSOM are fine).

type Attrs = Record<string, string | number | boolean | undefined>;
type Child = Node | string | false | null | undefined;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs,
  ...children: Child[]
): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Attrs, ...children: Child[]): HTMLElement;
export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === false || c === null || c === undefined) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

/** A codicon glyph (decorative: hidden from screen readers). */
export function icon(name: string, extra = ''): HTMLElement {
  return h('span', { class: `codicon codicon-${name}${extra ? ` ${extra}` : ''}`, 'aria-hidden': 'true' });
}

export function button(
  label: string,
  opts: {
    icon?: string;
    secondary?: boolean;
    id?: string;
    title?: string;
    iconOnly?: boolean;
    disabled?: boolean;
  } = {},
): HTMLElement {
  const b = h(
    'vscode-button',
    {
      id: opts.id,
      icon: opts.icon,
      secondary: opts.secondary,
      title: opts.title ?? (opts.iconOnly ? label : undefined),
      'aria-label': opts.iconOnly ? label : undefined,
      'icon-only': opts.iconOnly,
      disabled: opts.disabled,
    },
    opts.iconOnly ? '' : label,
  );
  return b;
}

/** A click handler that does nothing while the element is disabled. */
export function action<T extends HTMLElement>(el: T, fn: () => void): T {
  el.addEventListener('click', () => {
    if (!el.hasAttribute('disabled')) fn();
  });
  return el;
}

/** An object URL for encoded image bytes (the caller revokes it). */
export function blobUrl(img: { readonly bytes: Uint8Array; readonly mime: string }): string {
  return URL.createObjectURL(new Blob([img.bytes as Uint8Array<ArrayBuffer>], { type: img.mime }));
}

export function setDisabled(el: Element, disabled: boolean): void {
  if (disabled) el.setAttribute('disabled', '');
  else el.removeAttribute('disabled');
}

export function clear(el: Element): void {
  while (el.firstChild) el.firstChild.remove();
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function formatLoss(v: number): string {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  return a >= 1e4 || (a < 1e-2 && a !== 0) ? v.toExponential(2) : v.toPrecision(4);
}
