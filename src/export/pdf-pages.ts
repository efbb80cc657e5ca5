/**
 * On which page did each heading land? Chromium (Skia's PDF writer) stores every link target
 * of the page (`<a href="#id">`) as a named destination `/id [pageRef /XYZ x y 0]` in the
 * catalog's /Dests dictionary, uncompressed. Reading those and the page tree gives the page
 * numbers for the table of contents (a second print then fills them in).
 *
 * This is a reader for Chromium's own output, not a general PDF parser: anything it does not
 * find (e.g. compressed object streams) yields an empty map, and the contents go without numbers.
 */
import * as fs from "fs";

function objectBody(pdf: string, num: number): string | null {
  const m = new RegExp(`(?:^|[\\r\\n])${num} 0 obj\\s*([\\s\\S]*?)endobj`).exec(pdf);
  return m ? m[1] : null;
}

function refs(text: string): number[] {
  return Array.from(text.matchAll(/(\d+) 0 R/g), (m) => Number(m[1]));
}

/** Page object numbers in page order (walks /Pages -> /Kids). */
function pageOrder(pdf: string): number[] {
  const catalog = /\/Type\s*\/Catalog[\s\S]*?\/Pages\s+(\d+) 0 R/.exec(pdf);
  if (!catalog) return [];
  const pages: number[] = [];
  const visit = (num: number, depth: number) => {
    const body = objectBody(pdf, num);
    if (body === null || depth > 32) return;
    if (/\/Type\s*\/Pages\b/.test(body)) {
      const kids = /\/Kids\s*\[([^\]]*)\]/.exec(body);
      for (const k of kids ? refs(kids[1]) : []) visit(k, depth + 1);
    } else if (/\/Type\s*\/Page\b/.test(body)) {
      pages.push(num);
    }
  };
  visit(Number(catalog[1]), 0);
  return pages;
}

/** Decode a PDF name token (`#xx` escapes). */
function decodeName(name: string): string {
  return name.replace(/#([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/**
 * Named destinations of a Chromium-printed PDF: element id -> 1-based page number.
 * Empty if the file does not have the expected uncompressed structure.
 */
export function namedDestinationPages(pdfFile: string): Map<string, number> {
  const pdf = fs.readFileSync(pdfFile).toString("latin1");
  const result = new Map<string, number>();
  const pages = pageOrder(pdf);
  const dests = /\/Type\s*\/Catalog[\s\S]*?\/Dests\s+(\d+) 0 R/.exec(pdf);
  if (pages.length === 0 || !dests) return result;
  const body = objectBody(pdf, Number(dests[1]));
  if (body === null) return result;
  const pageIndex = new Map(pages.map((p, i) => [p, i + 1] as const));
  for (const m of body.matchAll(/\/([^\s/\[\]<>()]+)\s*\[\s*(\d+) 0 R/g)) {
    const page = pageIndex.get(Number(m[2]));
    if (page !== undefined) result.set(decodeName(m[1]), page);
  }
  return result;
}
