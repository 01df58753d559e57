// One list of image extensions (src/protocol/fileTypes.ts): the Explorer menus of package.json,
// the pickers and the engine's folder scan must offer the same files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  EXTENSION_FORMAT,
  FORMAT_EXTENSION,
  IMAGE_EXTENSIONS,
  IMAGE_EXTNAME_PATTERN,
  MEDIA_EXTENSIONS,
  MEDIA_EXTNAME_PATTERN,
  VIDEO_EXTENSIONS,
  isImagePath,
  isMediaPath,
  isVideoPath,
  mayBeClip,
} from '../../src/protocol/fileTypes';
import { IMAGE_EXTENSIONS as ENGINE_EXTENSIONS, formatFromExtension } from '../../src/io/formats';
import { REPO_ROOT } from '../helpers/paths';

/** Every `when` clause of package.json's menus with a `resourceExtname =~ /…/i` test in it. */
function extnameClauses(): { where: string; pattern: string }[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    contributes: { menus: Record<string, { command: string; when?: string }[]> };
  };
  const out: { where: string; pattern: string }[] = [];
  for (const [menu, items] of Object.entries(pkg.contributes.menus)) {
    for (const item of items) {
      for (const m of item.when?.matchAll(/resourceExtname =~ \/(.*?)\/i/g) ?? [])
        out.push({ where: `${menu} ${item.command}`, pattern: m[1] });
    }
  }
  return out;
}

test("package.json's menus test exactly the extensions of the one list: images and videos for Stylize with…, images for the rest", () => {
  const clauses = extnameClauses().filter((c) => new RegExp(c.pattern, 'i').test('.png'));
  assert.ok(clauses.length >= 3, `expected the Explorer's image menus, found ${clauses.length}`);
  for (const c of clauses) {
    const media = c.where.endsWith(' fastStyleTransfer.stylize');
    assert.equal(
      c.pattern,
      media ? MEDIA_EXTNAME_PATTERN : IMAGE_EXTNAME_PATTERN,
      `${c.where}: the when clause differs from src/protocol/fileTypes.ts`,
    );
    const re = new RegExp(c.pattern, 'i');
    for (const ext of media ? MEDIA_EXTENSIONS : IMAGE_EXTENSIONS)
      assert.ok(re.test(ext) && re.test(ext.toUpperCase()), `${c.where} hides ${ext}`);
    for (const other of ['.txt', '.pngx', '.xpng', '.svg', '.json', '.png.bak', '', ...(media ? [] : VIDEO_EXTENSIONS)])
      assert.ok(!re.test(other), `${c.where} offers ${other || 'no extension'}`);
  }
  assert.ok(
    clauses.some((c) => c.pattern === MEDIA_EXTNAME_PATTERN),
    'Stylize with… is offered on videos',
  );
  for (const ext of VIDEO_EXTENSIONS)
    assert.ok(isVideoPath(`/clips/a${ext.toUpperCase()}`) && !isImagePath(`/clips/a${ext}`), ext);
});

test('the engine reads what the editor offers; writable extensions name their format both ways', () => {
  assert.deepEqual([...ENGINE_EXTENSIONS], [...IMAGE_EXTENSIONS]);
  for (const ext of ['.heic', '.heif', '.jpe', '.jfif', '.JPG']) assert.ok(isImagePath(`/photos/a${ext}`), ext);
  for (const p of ['/photos/a.txt', '/photos/png', '/photos/a.png/readme', 'a.']) assert.ok(!isImagePath(p), p);
  for (const [format, ext] of Object.entries(FORMAT_EXTENSION)) {
    assert.equal(EXTENSION_FORMAT[ext], format);
    assert.equal(formatFromExtension(`x${ext.toUpperCase()}`), format);
  }
});

test('the gallery takes images and videos; videos and GIF / WebP / PNG may be clips, other images are not', () => {
  for (const ext of MEDIA_EXTENSIONS) assert.ok(isMediaPath(`/media/a${ext.toUpperCase()}`), ext);
  for (const p of ['/media/a.txt', '/media/a.mp3', '/media/mp4', '/media/a.svg']) assert.ok(!isMediaPath(p), p);
  for (const p of ['/c/a.mp4', '/c/a.MOV', '/c/a.webm', '/c/a.mkv', '/c/a.m4v', '/c/a.gif', '/c/a.WebP', '/c/a.png'])
    assert.ok(mayBeClip(p), p);
  for (const p of ['/c/a.jpg', '/c/a.tiff', '/c/a.avif', '/c/a.heic', '/c/png', '/c/a.png.txt'])
    assert.ok(!mayBeClip(p), p);
});
