// `fst`: the engine without VS Code. Each command prints one line per result, a one-line
// error and a non-zero exit code on bad input, and has --help.
import { StyleTransferError, toErrorInfo } from '../protocol/errors';
import { commands } from './commands';
import type { Command } from './options';
import { parseCommandArgs, printable } from './args';
import { allowThreadedWasm } from '../engine/tfjs/backends';
import { turnOffThirdPartyTelemetry } from '../protocol/telemetry';
import { TOOL_VERSION } from '../protocol/version';

// Before anything can load ONNX Runtime (it reads the variable once, when it initialises).
turnOffThirdPartyTelemetry();

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'fst — fast neural style transfer (Johnson et al. 2016)',
    '',
    'usage: fst <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `fst <command> --help` for the options of a command.',
  ].join('\n');
}

function commandHelp(c: Command): string {
  const lines = [`usage: fst ${c.name} ${c.usage}`, '', c.summary, ''];
  const opts = Object.entries(c.options);
  if (opts.length) {
    lines.push('options:');
    for (const [name, o] of opts) {
      const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ' <value>' : ''}`;
      lines.push(`  ${flag.padEnd(28)} ${c.help[name] ?? ''}`);
    }
  }
  if (c.examples?.length) lines.push('', 'examples:', ...c.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    console.log(TOOL_VERSION);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(printable(`fst: unknown command "${name}" (try fst --help)`));
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(commandHelp(command));
    return 0;
  }
  let parsed;
  try {
    parsed = parseCommandArgs(rest, command.options);
  } catch (e) {
    console.error(printable(`fst ${name}: ${(e as Error).message} (try fst ${name} --help)`));
    return 2;
  }
  try {
    return await command.run(parsed.values, parsed.positionals);
  } catch (e) {
    const info = toErrorInfo(e);
    console.error(printable(`fst ${name}: ${info.message}`));
    if (info.code === 'internal' && process.env.FST_DEBUG && info.detail) console.error(info.detail);
    return e instanceof StyleTransferError && e.code === 'bad-input' ? 2 : 1;
  }
}

/** Runs the CLI with `argv` and sets the exit code (used by bin/fst.js and `node dist/cli.js`). */
export function runCli(argv: string[]): void {
  // Training and tfjs stylizing run on the threaded WebAssembly build (2.5× faster on 2 cores);
  // its threads would keep the process alive, so it exits once its output is written.
  allowThreadedWasm();
  const exit = (code: number) => process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  main(argv).then(exit, (e) => {
    console.error(printable(`fst: ${(e as Error).message}`));
    exit(1);
  });
}

if (require.main === module) runCli(process.argv.slice(2));
