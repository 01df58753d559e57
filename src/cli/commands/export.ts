// `fst export`: a style as a compact checkpoint for sharing, or as a self-contained ONNX model.
import path from 'node:path';
import { exportCheckpoint, exportOnnx } from '../../engine/exportJob';
import { loadStyle } from '../../engine/styles';
import { refuseExisting } from '../../io/output';
import { optionSpecs } from '../args';
import { badInput, out, required, str, type Command } from '../options';

export const exportCommand: Command = {
  name: 'export',
  usage: '<checkpoint|ml5-folder> -o <target> [--onnx] [--float16] [--name <name>]',
  summary: 'Export a style: a compact checkpoint for sharing (no optimizer state), or a self-contained ONNX model.',
  options: optionSpecs(['output', 'onnx', 'float16', 'name', 'note'], ['onnx', 'float16']),
  help: {
    output: 'the folder (checkpoint) or .onnx file to create; never overwritten',
    onnx: 'write an ONNX model (input float32 NCHW RGB 0–255 of any size; output the same size)',
    float16: 'store the weights as float16 (half the size; checkpoint only)',
    name: 'display name of the exported style',
    note: 'a note recorded in style.json provenance (e.g. the command that trained it)',
  },
  examples: ['fst export styles/mine -o shared/mine --float16', 'fst export styles/mine -o mine.onnx --onnx'],
  async run(v, pos) {
    if (pos.length !== 1) throw badInput('give exactly one style folder');
    const output = path.resolve(required(v, 'output'));
    await refuseExisting(output); // before loading the style
    const style = await loadStyle(pos[0]);
    if (v.onnx) await exportOnnx(style, output, { overwrite: false });
    else
      await exportCheckpoint(style, output, {
        name: str(v, 'name'),
        note: str(v, 'note'),
        precision: v.float16 ? 'float16' : 'float32',
      });
    out(output);
    return 0;
  },
};
