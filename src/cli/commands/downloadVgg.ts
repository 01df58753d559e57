// `fst download-vgg`: fetches the VGG19 loss-network weights for training (resumable, checksum-verified).
import os from 'node:os';
import path from 'node:path';
import { downloadVgg19, VGG19_SOURCES } from '../../io/download';
import { out, str, type Command } from '../options';

export const downloadVggCommand: Command = {
  name: 'download-vgg',
  usage: '[-o <folder>]',
  summary: `Download the VGG19 loss-network weights (MatConvNet ${VGG19_SOURCES.matconvnet.fileName}, about 550 MB, checksum-verified) for training.`,
  options: { output: { type: 'string', short: 'o' } },
  help: {
    output: 'folder to keep the file in (default: ~/.cache/fast-style-transfer); an interrupted download resumes',
  },
  examples: ['fst download-vgg && fst train --vgg ~/.cache/fast-style-transfer/imagenet-vgg-verydeep-19.mat …'],
  async run(v) {
    const dir = path.resolve(str(v, 'output') ?? path.join(os.homedir(), '.cache', 'fast-style-transfer'));
    let last = 0;
    const r = await downloadVgg19(dir, {
      onProgress: (bytes, total) => {
        if (!process.stderr.isTTY || Date.now() - last < 500) return;
        last = Date.now();
        process.stderr.write(`\r${(bytes / 1e6).toFixed(0)}${total ? ` / ${(total / 1e6).toFixed(0)}` : ''} MB`);
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    out(r.path);
    return 0;
  },
};
