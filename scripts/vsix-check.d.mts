// Types of scripts/vsix-check.mjs for the unit tests.
export interface ZipEntry {
  name: string;
  size: number;
  data(): Buffer;
}
export interface BinaryKind {
  os: 'win32' | 'darwin' | 'linux';
  cpu: string;
  fat?: boolean;
  bits?: number;
}
export function readZip(file: string): ZipEntry[];
export function binaryKind(b: Buffer): BinaryKind | undefined;
export function machoRelativeDeps(b: Buffer, selfDir: string): { dep: string; candidates: string[] }[];
export function sharedDataIndex(dataDir: string): Map<number, string[]> | undefined;
export function checkVsix(
  file: string,
  target: string,
  opts?: { dataIndex?: Map<number, string[]>; expect?: string[] },
): {
  problems: string[];
  size: number;
  unpacked: number;
  natives: { name: string; size: number }[];
  files: number;
};
export function expectedNatives(target: string, opts?: { onnxRuntime?: boolean }): string[];
