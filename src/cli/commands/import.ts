// `fst import`: an ml5 / deeplearn.js style-transfer model folder becomes a checkpoint folder.
import path from 'node:path';
import { importMl5Style } from '../../engine/importJob';
import { badInput, out, required, str, type Command } from '../options';

export const importCommand: Command = {
  name: 'import',
  usage: '<ml5-folder> -o <checkpoint-folder> [--name <name>]',
  summary: 'Convert an ml5 / deeplearn.js style-transfer model into a checkpoint folder.',
  options: { output: { type: 'string', short: 'o' }, name: { type: 'string' } },
  help: {
    output: 'checkpoint folder to create (must not exist)',
    name: 'display name (default: the source folder name)',
  },
  examples: ['fst import ml5-models/udnie -o styles/udnie'],
  async run(v, pos) {
    if (pos.length !== 1) throw badInput('give exactly one ml5 model folder');
    const output = required(v, 'output');
    await importMl5Style(pos[0], output, str(v, 'name'));
    out(path.resolve(output));
    return 0;
  },
};
