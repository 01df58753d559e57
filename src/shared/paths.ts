// Path checks that must hold on every platform. They take the path module as a parameter (Node's
// `path` at run time; `path.win32` or `path.posix` in tests), so Windows rules — drive letters,
// backslashes, UNC shares, case-insensitive names — are tested on any machine. No imports: the
// protocol guards (which also run in the webview) use `looksAbsolute` from here.

/** The parts of Node's path module the checks use (`path`, `path.win32` and `path.posix` fit). */
export interface PathOps {
  readonly sep: string;
  relative(from: string, to: string): string;
  isAbsolute(p: string): boolean;
  join(...parts: string[]): string;
  resolve(...parts: string[]): string;
  dirname(p: string): string;
}

/**
 * `child` equals `root` or lies below it (both absolute). '..' and '../x' leave the root, a
 * '..hidden' name stays inside; another drive or share gives an absolute relative path (outside).
 * Under path.win32 names compare case-insensitively, as Windows does.
 */
export function isInsideFolder(child: string, root: string, p: PathOps): boolean {
  const rel = p.relative(root, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${p.sep}`) && !p.isAbsolute(rel));
}

/**
 * An absolute path of any platform, by its form only: '/x', 'C:\x', 'C:/x', or a UNC / device
 * path '\\server\share', '\\?\C:\x'. A drive-relative 'C:x' and a root-relative '\x' (both
 * depend on the current drive or folder) are refused. Messages carry paths of the machine the
 * worker runs on, which the webview and the protocol cannot know, hence no path module here.
 */
export function looksAbsolute(v: string): boolean {
  return v.startsWith('/') || /^[A-Za-z]:[\\/]/.test(v) || v.startsWith('\\\\');
}

/**
 * The output folder setting made absolute: `${workspaceFolder}` replaced by `workspace`, a
 * leading '~' by `home`, and a relative result taken from `workspace`.
 */
export function expandFolderSetting(setting: string, workspace: string, home: string, p: PathOps): string {
  // A function replacer: a folder name holding "$&" or "$1" must not be read as a pattern.
  const expanded = setting.replace(/\$\{workspaceFolder\}/g, () => workspace).replace(/^~(?=$|[\\/])/, () => home);
  return p.isAbsolute(expanded) ? expanded : p.join(workspace, expanded);
}
