/**
 * Stylesheets the exported page needs, inlined so the HTML file views offline and the
 * browser that prints the PDF never touches the network.
 */
import * as fs from "fs";
import * as path from "path";

function packageFile(pkg: string, relative: string): string {
  // Resolve through the package's package.json so this works from src/ (tsx) and dist/.
  const root = path.dirname(require.resolve(`${pkg}/package.json`));
  return path.join(root, relative);
}

let katexCache: string | undefined;

/**
 * KaTeX's stylesheet with its fonts embedded as woff2 data URIs (≈ 0.4 MB).
 * The woff and ttf fallbacks are dropped: every browser that can print the PDF reads woff2.
 */
export function katexCss(): string {
  if (katexCache !== undefined) return katexCache;
  const cssPath = packageFile("katex", "dist/katex.min.css");
  const fontDir = path.join(path.dirname(cssPath), "fonts");
  const css = fs.readFileSync(cssPath, "utf8");
  katexCache = css.replace(
    /src:url\(fonts\/([\w-]+)\.woff2\) format\("woff2"\)(,url\([^)]*\) format\("[\w]+"\))*/g,
    (_, name: string) => {
      const data = fs.readFileSync(path.join(fontDir, `${name}.woff2`)).toString("base64");
      return `src:url(data:font/woff2;base64,${data}) format("woff2")`;
    },
  );
  if (/url\(fonts\//.test(katexCache)) {
    throw new Error(
      `Expected every font in ${cssPath} to be inlined, but some url(fonts/...) remained (KaTeX ` +
        `changed its CSS?)`,
    );
  }
  return katexCache;
}

/** highlight.js's light GitHub theme (class names produced by `highlightCode`). */
export function highlightCss(): string {
  return fs.readFileSync(packageFile("highlight.js", "styles/github.css"), "utf8");
}
