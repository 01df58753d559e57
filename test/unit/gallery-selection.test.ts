// The gallery's selection on both sides of a request: the webview's StyleSelection
// (webview/gallery/selection.ts: which style is selected, its blend, what preview and save
// messages carry) and the host's lookup of such a message (src/views/gallery/styleBlend.ts:
// image, style and blend found in the registry and the store, or a named refusal).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GalleryStyle } from '../../src/protocol/gallery';
import type { StyleSummary } from '../../src/protocol/styles';
import { resolveRequest, type ResolvedRequest } from '../../src/views/gallery/styleBlend';
import { NO_BLEND, type BlendState } from '../../webview/gallery/blend';
import { StyleSelection } from '../../webview/gallery/selection';

const summary = (id: string, name: string, extra: Partial<StyleSummary> = {}): StyleSummary => ({
  id: `/styles/${id}`,
  name,
  origin: 'imported',
  iteration: 10,
  resumable: false,
  editable: true,
  updatedAt: '2026-12-01T00:00:00Z',
  ...extra,
});
const STORE = [
  summary('udnie', 'udnie'),
  summary('starry', 'Starry Night', { origin: 'bundled' }),
  summary('wave', 'wave'),
  summary('broken', 'broken', { error: 'style.json is not valid JSON' }),
];
const STYLES: GalleryStyle[] = STORE.map((s) => ({
  id: s.id,
  name: s.name,
  origin: s.origin,
  iteration: s.iteration,
  resumable: false,
  training: false,
  error: s.error,
}));
const find = (id: string) => STORE.find((s) => s.id === id);

function selection(state: { styleId?: string; blend: BlendState }, blendable = true): StyleSelection {
  const s = new StyleSelection(state, blendable);
  s.styles = STYLES;
  return s;
}

test('the selection stays on a usable style, else moves to the first idle usable one', () => {
  const state: { styleId?: string; blend: BlendState } = { styleId: '/styles/broken', blend: NO_BLEND };
  const s = selection(state);
  s.styles = [{ ...STYLES[0], training: true }, ...STYLES.slice(1)];
  assert.equal(s.ensure(), true, 'an unusable selection changes');
  assert.equal(state.styleId, '/styles/starry', 'the first usable style that is not training');
  assert.equal(s.ensure(), false, 'a usable one stays');
  assert.equal(s.select('/styles/broken'), false, 'an unusable style is not selected');
  assert.equal(s.select('/styles/starry'), false, 'nor the selected one again');
  assert.equal(s.select('/styles/udnie'), true);
  assert.equal(s.selected?.name, 'udnie');
  s.styles = [STYLES[3]];
  s.ensure();
  assert.equal(state.styleId, undefined, 'no usable style: nothing selected');
});

test('a blend is carried only where the layout blends; the label and mixed-in names follow the shares', () => {
  const blend: BlendState = {
    parts: [
      { styleId: '/styles/starry', pct: 30 },
      { styleId: '/styles/wave', pct: 0 },
    ],
    mode: 'outputs',
  };
  const panel = selection({ styleId: '/styles/udnie', blend });
  assert.deepEqual(
    panel.blendFields(),
    { blend: [{ styleId: '/styles/starry', weight: 0.3 }] },
    'a part of no share is not sent',
  );
  assert.equal(panel.label(), 'udnie 70% + Starry Night 30%');
  assert.deepEqual(
    panel.mixedIn().map((p) => p.name),
    ['Starry Night'],
    'a part of no share is not named',
  );
  assert.deepEqual(panel.mixPart('/styles/wave'), { part: blend.parts[1], index: 1 });
  assert.equal(panel.mixPart('/styles/udnie'), undefined);

  const sidebar = selection({ styleId: '/styles/udnie', blend }, false);
  assert.deepEqual(sidebar.blendFields(), {}, 'the sidebar has no blend control: its requests carry none');
  assert.equal(sidebar.label(), 'udnie');
  assert.equal(sidebar.mixPart('/styles/starry'), undefined);
});

test('pruning drops parts that became unusable or the selected style, and says whether it changed', () => {
  const state = {
    styleId: '/styles/starry',
    blend: {
      parts: [
        { styleId: '/styles/starry', pct: 20 },
        { styleId: '/styles/broken', pct: 20 },
        { styleId: '/styles/wave', pct: 40 },
      ],
      mode: 'outputs',
    } as BlendState,
  };
  const s = selection(state);
  assert.equal(s.pruneBlend(), true);
  assert.deepEqual(
    state.blend.parts.map((p) => p.styleId),
    ['/styles/wave'],
  );
  assert.equal(s.pruneBlend(), false);
});

test('the host finds what the webview sends: image, style and blend, or a refusal for the log and a sentence for the user', () => {
  const image = (t: string) => (t === 'img-1' ? { token: t } : undefined);
  const s = selection({
    styleId: '/styles/udnie',
    blend: {
      parts: [
        { styleId: '/styles/starry', pct: 30 },
        { styleId: '/styles/wave', pct: 0 },
      ],
      mode: 'outputs',
    },
  });
  const request = { imageToken: 'img-1', styleId: '/styles/udnie', ...s.blendFields() };
  // Another sender's part of weight 0 (the validator allows it) is left out too.
  const r = resolveRequest(
    { ...request, blend: [...request.blend!, { styleId: '/styles/wave', weight: 0 }] },
    image,
    find,
  ) as ResolvedRequest<{ token: string }>;
  assert.equal(r.style.name, 'udnie');
  assert.deepEqual(
    r.blend.options,
    {
      blend: [
        { style: '/styles/udnie', weight: 0.7 },
        { style: '/styles/starry', weight: 0.3 },
      ],
      blendMode: 'outputs',
    },
    'the selected style first; a part of weight 0 left out',
  );
  assert.equal(r.blend.label, s.label(), 'the host names the blend as the webview does');
  assert.equal(r.blend.outputName, 'udnie-70+Starry Night-30');
  assert.match(
    r.blend.key,
    /^outputs\|\/styles\/udnie@2026-12-01T00:00:00Z:10=0\.7/,
    "the cache key holds each style's version",
  );

  const alone = resolveRequest(
    { imageToken: 'img-1', styleId: '/styles/udnie' },
    image,
    find,
  ) as ResolvedRequest<unknown>;
  assert.deepEqual(
    [alone.blend.options, alone.blend.key, alone.blend.label, alone.blend.outputName],
    [{}, '', 'udnie', 'udnie'],
  );

  assert.deepEqual(resolveRequest({ ...request, imageToken: 'img-9' }, image, find), {
    reason: 'unknown image token img-9',
    message: 'The image is no longer available; choose it again.',
  });
  assert.deepEqual(resolveRequest({ ...request, styleId: '/styles/broken' }, image, find), {
    reason: 'unknown style /styles/broken',
    message: 'This style is no longer available.',
  });
  assert.deepEqual(resolveRequest({ ...request, blend: [{ styleId: '/styles/gone', weight: 0.5 }] }, image, find), {
    reason: 'unknown blend style /styles/gone',
    message: 'A style in the blend is no longer available.',
  });
});
