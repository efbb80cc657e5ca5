/**
 * Stack traces in terms of src/*.ts instead of the compiled dist/*.js the notebooks import.
 * tsc writes a .js.map beside every dist file (tsconfig `sourceMap`); Node reads them only when
 * source maps are on, and only for files loaded after that. Nothing happens on import: a notebook
 * calls `enableSourceMaps()` before it imports the rest of the library.
 */
import * as path from "path";

/**
 * Turn on Node's source-map support (Node >= 16.6) for every module loaded from now on, so an
 * error thrown in dist/moons.js shows `src/moons.ts:<line>`. Modules of this library already
 * loaded keep their dist/ positions: call this before importing anything else from dist/.
 * @returns enabled: false where Node lacks `process.setSourceMapsEnabled` (then nothing changed);
 *   alreadyLoaded: absolute paths of this library's modules loaded before the call (empty when
 *   called first), whose traces stay in dist/
 */
export function enableSourceMaps(): { enabled: boolean; alreadyLoaded: string[] } {
  const setSourceMapsEnabled = (
    process as NodeJS.Process & { setSourceMapsEnabled?: (on: boolean) => void }
  ).setSourceMapsEnabled;
  if (typeof setSourceMapsEnabled !== "function") return { enabled: false, alreadyLoaded: [] };
  setSourceMapsEnabled.call(process, true);
  const library = path.join(__dirname, "..") + path.sep; // dist/
  const alreadyLoaded = Object.keys(require.cache).filter(
    (f) => f.startsWith(library) && f !== __filename,
  );
  return { enabled: true, alreadyLoaded };
}
