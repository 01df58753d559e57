// The release, in one place: package.json's version. Bundles inline just this string (esbuild
// tree-shakes a named JSON import); runs from source (tests through tsx) read the file.
import { version } from '../../package.json';

export const TOOL_VERSION: string = version;
