// The commands of `fst`, in the order `fst --help` lists them. Each file is a thin layer over an
// engine job: parse options, run, print.
import type { Command } from '../options';
import { downloadVggCommand } from './downloadVgg';
import { evaluateCommand } from './evaluate';
import { exportCommand } from './export';
import { importCommand } from './import';
import { infoCommand } from './info';
import { optimizeCommand } from './optimize';
import { stylizeCommand } from './stylize';
import { trainCommand } from './train';

export const commands: readonly Command[] = [
  importCommand,
  stylizeCommand,
  trainCommand,
  optimizeCommand,
  exportCommand,
  downloadVggCommand,
  infoCommand,
  evaluateCommand,
];
