// The gallery's blend model (webview/gallery/blend.ts): shares in whole percent that never add
// up to more than 100, the selected style keeping the rest; what preview and save messages
// carry (checked against the host's validator); the norm mode only for one network shape; and
// restored state that cannot smuggle in anything malformed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_BLEND_STYLES,
  NO_BLEND,
  addPart,
  blendKey,
  blendRequest,
  candidates,
  composition,
  mainShare,
  normPossible,
  pruneBlend,
  removePart,
  replacePart,
  restoreBlend,
  setShare,
  type BlendState,
} from '../../webview/gallery/blend';
import { GALLERY_LIMITS, parseWebviewMessage, type GalleryStyle } from '../../src/protocol/gallery';

const style = (id: string, name: string, architecture?: string, error?: string): GalleryStyle => ({
  id: `/styles/${id}`,
  name,
  origin: 'imported',
  iteration: 0,
  resumable: false,
  training: false,
  architecture,
  error,
});
const STYLES = [
  style('starry', 'Starry Night', '16-32-64/3'),
  style('udnie', 'udnie', '32-64-128/5'),
  style('mathura', 'mathura', '32-64-128/5'),
  style('wave', 'wave', '32-64-128/5'),
  style('scream', 'scream', '32-64-128/5'),
  style('muse', 'la muse', '32-64-128/5'),
  style('broken', 'broken', '32-64-128/5', 'style.json is not valid JSON'),
];
const MAIN = '/styles/udnie';
const pcts = (s: BlendState) => s.parts.map((p) => p.pct);
const ids = (s: BlendState) => s.parts.map((p) => p.styleId.replace('/styles/', ''));

test('the first style mixed in takes 50 %, later ones half of what the selected style keeps', () => {
  let s = addPart(NO_BLEND, '/styles/starry');
  assert.deepEqual(pcts(s), [50]);
  assert.equal(mainShare(s.parts), 50);
  s = addPart(s, '/styles/mathura');
  assert.deepEqual(pcts(s), [50, 25]);
  s = addPart(s, '/styles/wave');
  assert.deepEqual(pcts(s), [50, 25, 13]);
  assert.equal(mainShare(s.parts), 12);
  // Nothing left for the selected style: a new part still gets 10 %, taken from the others in proportion.
  s = setShare(s, 0, 100);
  assert.deepEqual(pcts(s), [100, 0, 0]);
  s = addPart(s, '/styles/scream');
  assert.deepEqual(pcts(s), [90, 0, 0, 10]);
  assert.equal(s.parts.length, MAX_BLEND_STYLES);
  assert.equal(MAX_BLEND_STYLES, GALLERY_LIMITS.maxBlendStyles);
  assert.equal(addPart(s, '/styles/muse'), s, 'no fifth style');
  assert.equal(addPart(NO_BLEND, '/styles/a').parts.length, 1);
  const once = addPart(NO_BLEND, '/styles/a');
  assert.equal(addPart(once, '/styles/a'), once, 'no style twice');
});

test('setShare: the other parts give way in proportion, whole percent, never more than 100 % in all', () => {
  let s: BlendState = {
    parts: [
      { styleId: '/styles/a', pct: 30 },
      { styleId: '/styles/b', pct: 20 },
      { styleId: '/styles/c', pct: 10 },
    ],
    mode: 'outputs',
  };
  assert.deepEqual(pcts(setShare(s, 0, 40)), [40, 20, 10], 'room left: nothing else moves');
  s = setShare(s, 0, 85);
  assert.deepEqual(pcts(s), [85, 10, 5], 'b and c share the 15 % left 2:1');
  assert.equal(mainShare(s.parts), 0);
  s = setShare(s, 2, 100);
  assert.deepEqual(pcts(s), [0, 0, 100]);
  // Rounding: three equal parts squeezed into 10 % still add up exactly.
  const eq: BlendState = {
    parts: ['a', 'b', 'c', 'd'].map((x) => ({ styleId: `/styles/${x}`, pct: 25 })),
    mode: 'outputs',
  };
  const squeezed = setShare(eq, 3, 90);
  assert.deepEqual(pcts(squeezed), [4, 3, 3, 90]);
  assert.equal(
    pcts(squeezed).reduce((a, b) => a + b),
    100,
  );
  for (const v of [-5, 150, NaN, 33.6]) {
    const r = setShare(s, 1, v);
    assert.ok(
      r.parts.every((p) => Number.isInteger(p.pct) && p.pct >= 0 && p.pct <= 100),
      `${v}: ${pcts(r)}`,
    );
    assert.ok(pcts(r).reduce((a, b) => a + b) <= 100);
  }
  assert.equal(setShare(s, 7, 50), s, 'an index out of range changes nothing');
});

test('replace, remove and the styles a row may choose', () => {
  let s = addPart(addPart(NO_BLEND, '/styles/starry'), '/styles/mathura');
  assert.deepEqual(
    candidates(STYLES, s, MAIN).map((c) => c.name),
    ['wave', 'scream', 'la muse'],
    'not the selected style, not one already mixed in, not an unusable one',
  );
  assert.deepEqual(
    candidates(STYLES, s, MAIN, 0).map((c) => c.name),
    ['Starry Night', 'wave', 'scream', 'la muse'],
    'a row may keep its own style',
  );
  s = replacePart(s, 0, '/styles/wave');
  assert.deepEqual(ids(s), ['wave', 'mathura']);
  assert.deepEqual(pcts(s), [50, 25], 'the share stays');
  assert.equal(replacePart(s, 0, '/styles/mathura'), s, 'not a style another row has');
  s = removePart(s, 0);
  assert.deepEqual(ids(s), ['mathura']);
  assert.deepEqual(pcts(s), [25]);
});

test("norm mode: only when every chosen style has the selected one's network shape", () => {
  const one = addPart(NO_BLEND, '/styles/mathura');
  assert.equal(normPossible(STYLES, one, MAIN), true);
  assert.equal(normPossible(STYLES, addPart(one, '/styles/starry'), MAIN), false);
  assert.equal(normPossible(STYLES, NO_BLEND, MAIN), false, 'nothing mixed in');
  assert.equal(
    normPossible([style('udnie', 'udnie'), style('mathura', 'mathura')], one, MAIN),
    false,
    'unknown shapes',
  );
  // The request carries 'norm' only where it is possible; 'outputs' is the default and is left out.
  const norm = { ...one, mode: 'norm' as const };
  assert.deepEqual(blendRequest(STYLES, norm, MAIN), {
    blend: [{ styleId: '/styles/mathura', weight: 0.5 }],
    blendMode: 'norm',
  });
  assert.deepEqual(
    blendRequest(STYLES, { ...addPart(one, '/styles/starry'), mode: 'norm' }, MAIN).blendMode,
    undefined,
  );
  assert.deepEqual(blendRequest(STYLES, one, MAIN), { blend: [{ styleId: '/styles/mathura', weight: 0.5 }] });
});

test("requests: parts without a share are left out, and every request passes the host's validator", () => {
  assert.deepEqual(blendRequest(STYLES, NO_BLEND, MAIN), {});
  assert.deepEqual(
    blendRequest(STYLES, setShare(addPart(NO_BLEND, '/styles/starry'), 0, 0), MAIN),
    {},
    'a part at 0 % is no blend',
  );
  let s = addPart(addPart(addPart(NO_BLEND, '/styles/starry'), '/styles/mathura'), '/styles/wave');
  s = setShare(s, 1, 0);
  const r = blendRequest(STYLES, s, MAIN);
  assert.deepEqual(
    r.blend?.map((b) => b.styleId),
    ['/styles/starry', '/styles/wave'],
  );
  assert.equal(blendKey(r), 'outputs|/styles/starry=0.5|/styles/wave=0.13');
  assert.equal(blendKey({}), '');
  assert.notEqual(blendKey(r), blendKey(blendRequest(STYLES, setShare(s, 0, 51), MAIN)));
  // Every reachable state (random edits) makes a message the host accepts, the weights summing to at most 1.
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let state: BlendState = NO_BLEND;
  for (let i = 0; i < 2000; i++) {
    const k = rnd();
    const free = candidates(STYLES, state, MAIN);
    if (k < 0.25 && free.length) state = addPart(state, free[Math.floor(rnd() * free.length)].id);
    else if (k < 0.35 && state.parts.length) state = removePart(state, Math.floor(rnd() * state.parts.length));
    else if (k < 0.45 && state.parts.length && free.length)
      state = replacePart(state, Math.floor(rnd() * state.parts.length), free[0].id);
    else if (k < 0.5) state = { ...state, mode: state.mode === 'norm' ? 'outputs' : 'norm' };
    else if (state.parts.length)
      state = setShare(state, Math.floor(rnd() * state.parts.length), Math.round(rnd() * 120) - 10);
    const msg = {
      type: 'preview',
      requestId: i,
      imageToken: 'img-1',
      styleId: MAIN,
      size: 'preview',
      scale: 1,
      ...blendRequest(STYLES, state, MAIN),
    };
    const parsed = parseWebviewMessage(msg);
    assert.ok(!(parsed instanceof Error), `${JSON.stringify(state)}: ${parsed instanceof Error ? parsed.message : ''}`);
    assert.ok(pcts(state).reduce((a, b) => a + b, 0) <= 100);
  }
});

test('composition: the selected style first with what it keeps; parts at 0 % are not shown', () => {
  const s = setShare(addPart(addPart(NO_BLEND, '/styles/starry'), '/styles/mathura'), 0, 30);
  assert.deepEqual(composition(STYLES, s, MAIN), [
    { name: 'udnie', pct: 45, index: -1 },
    { name: 'Starry Night', pct: 30, index: 0 },
    { name: 'mathura', pct: 25, index: 1 },
  ]);
  assert.deepEqual(
    composition(STYLES, setShare(s, 0, 75), MAIN).map((p) => [p.name, p.pct]),
    [
      ['Starry Night', 75],
      ['mathura', 25],
    ],
  );
});

test('pruneBlend and restoreBlend: restored or outdated blends become valid ones', () => {
  const usable = (id: string) => STYLES.some((s) => s.id === id && !s.error);
  const stale: BlendState = {
    parts: [
      { styleId: MAIN, pct: 20 },
      { styleId: '/styles/gone', pct: 20 },
      { styleId: '/styles/broken', pct: 10 },
      { styleId: '/styles/starry', pct: 60 },
      { styleId: '/styles/starry', pct: 5 },
      { styleId: '/styles/mathura', pct: 60 },
    ],
    mode: 'norm',
  };
  const pruned = pruneBlend(stale, MAIN, usable);
  assert.deepEqual(
    ids(pruned),
    ['starry', 'mathura'],
    'not the selected style, not unknown or unusable ones, no repeats',
  );
  assert.deepEqual(pcts(pruned), [50, 50], 'scaled to fit 100 %');
  assert.equal(pruned.mode, 'norm');
  assert.deepEqual(pruneBlend(NO_BLEND, MAIN, usable), NO_BLEND);

  for (const raw of [undefined, null, 'x', 42, [], { parts: 'x' }, { parts: {} }])
    assert.deepEqual(restoreBlend(raw), NO_BLEND);
  const r = restoreBlend({
    parts: [
      { styleId: '/a', pct: 70.4 },
      { styleId: 5, pct: 10 },
      { styleId: '/b', pct: '10' },
      null,
      { styleId: '/c', pct: Infinity },
      { styleId: '/d', pct: 80 },
    ],
    mode: 'evil',
  });
  assert.deepEqual(
    r.parts.map((p) => p.styleId),
    ['/a', '/d'],
  );
  assert.ok(r.parts.every((p) => Number.isInteger(p.pct)) && pcts(r).reduce((a, b) => a + b) === 100, `${pcts(r)}`);
  assert.equal(r.mode, 'outputs');
  assert.equal(
    restoreBlend({ parts: Array.from({ length: 50 }, (_, i) => ({ styleId: `/s${i}`, pct: 1 })), mode: 'norm' }).parts
      .length,
    MAX_BLEND_STYLES,
  );
});
