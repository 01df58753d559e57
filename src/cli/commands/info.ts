// `fst info`: what a style checkpoint (or ml5 folder) holds.
import { parameterCount } from '../../model/architecture';
import { readCheckpoint } from '../../io/checkpoint';
import { loadStyle } from '../../engine/styles';
import { printable } from '../args';
import { badInput, type Command } from '../options';

export const infoCommand: Command = {
  name: 'info',
  usage: '<checkpoint|ml5-folder>',
  summary: 'Show what a style checkpoint holds.',
  options: { json: { type: 'boolean' } },
  help: { json: 'print JSON instead of text' },
  async run(v, pos) {
    if (pos.length !== 1) throw badInput('give exactly one checkpoint folder');
    const style = await loadStyle(pos[0]);
    const info = style.format === 'checkpoint' ? (await readCheckpoint(style.dir)).info : undefined;
    const summary = {
      name: style.name,
      format: style.format,
      architecture: style.arch,
      parameters: parameterCount(style.arch),
      iteration: info?.iteration ?? 0,
      source: info?.source,
      lastLosses: info?.lossHistory?.at(-1),
      createdAt: info?.createdAt,
      updatedAt: info?.updatedAt,
      weightsSha256: style.hash,
    };
    if (v.json) {
      console.log(JSON.stringify(summary, null, 2));
    } else {
      for (const [k, val] of Object.entries(summary))
        if (val !== undefined) console.log(printable(`${k}: ${typeof val === 'object' ? JSON.stringify(val) : val}`));
    }
    return 0;
  },
};
