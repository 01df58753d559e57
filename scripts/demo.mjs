// `npm run demo`: stylizes the bundled sample photos with the bundled style (one this project
// trained itself, see styles/*/style.json → provenance) and prints where the results are.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { main } = require(path.join(root, 'dist', 'cli.js'));

const stylesDir = path.join(root, 'styles');
const bundled = fs.existsSync(stylesDir)
  ? fs
      .readdirSync(stylesDir)
      .map((d) => path.join(stylesDir, d))
      .filter((d) => fs.existsSync(path.join(d, 'style.json')))
      .sort()
  : [];
let style = bundled[0];
if (!style) {
  const fallback = path.resolve(root, '..', 'shared', 'data', 'pretrained', 'mathura');
  if (!fs.existsSync(fallback)) {
    console.error('demo: no bundled style in styles/ and no ../shared/data/pretrained/mathura to fall back on');
    process.exit(1);
  }
  console.error(`demo: no bundled style yet; using the ml5 "mathura" network from ${fallback} (not shipped)`);
  style = fallback;
}
const photos = path.join(root, 'media', 'samples', 'photos');
const out = path.join(root, 'demo-output');
fs.mkdirSync(out, { recursive: true });
const name = fs.existsSync(path.join(style, 'style.json'))
  ? JSON.parse(fs.readFileSync(path.join(style, 'style.json'), 'utf8')).name
  : path.basename(style);
console.error(
  `demo: stylizing ${fs.readdirSync(photos).length} sample photos with “${name}” (${path.relative(root, style) || style})…`,
);
const t0 = Date.now();
const code = await main(['stylize', '-m', style, '-o', out, photos]);
if (code === 0) console.error(`demo: done in ${((Date.now() - t0) / 1000).toFixed(1)} s; results are in ${out}`);
process.exitCode = code;
