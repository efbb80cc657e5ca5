import { test } from "node:test";
import assert from "node:assert/strict";
import katex from "katex";
import {
  extractMath,
  renderMarkdown,
  type Heading,
  type MathProblem,
} from "../src/export/markdown";

// KaTeX called directly is the reference: the Markdown pipeline must hand it the exact TeX.
const ref = (tex: string, display: boolean) =>
  katex.renderToString(tex, {
    displayMode: display,
    output: "html",
    strict: "ignore",
    throwOnError: true,
  });

test("inline math keeps underscores and asterisks away from Markdown emphasis", () => {
  const html = renderMarkdown("so $a_1 * b_2 * c_3$ holds");
  assert.equal(html.trim(), `<p>so ${ref("a_1 * b_2 * c_3", false)} holds</p>`);
  assert.ok(!html.includes("<em>"));
});

test("display math, aligned environments and bare \\begin{align} are typeset in display mode", () => {
  const aligned =
    "\\begin{aligned}\n\\nabla \\log p &= -\\frac{x_t - x_0}{\\sigma^2} \\\\\n&= -\\frac{\\epsilon}{\\sigma}\n\\end{aligned}";
  const html = renderMarkdown(
    `Gradient:\n\n$$\n${aligned}\n$$\n\nand\n\n\\begin{align}\na &= b \\\\\nc &= d\n\\end{align}`,
  );
  assert.ok(
    html.includes(ref(`\n${aligned}\n`, true)),
    "the $$ block is KaTeX's display rendering of its content",
  );
  assert.ok(html.includes(ref("\\begin{align}\na &= b \\\\\nc &= d\n\\end{align}", true)));
  assert.ok(!html.includes("katex-error"));
  assert.equal((html.match(/class="katex-display"/g) ?? []).length, 2);
});

test("\\( \\) and \\[ \\] delimiters are math too", () => {
  const { math } = extractMath("inline \\(x^2\\) and display \\[y^2\\]");
  assert.deepEqual(math, [
    { tex: "x^2", display: false },
    { tex: "y^2", display: true },
  ]);
});

test("code spans, fenced code and escaped dollars are not math", () => {
  const src =
    'Costs \\$5 or \\$6; `let s = "$x$"`\n\n```ts\nconst price = `$${cost}`; // $not math$\n```\n';
  const { math } = extractMath(src);
  assert.equal(math.length, 0);
  const html = renderMarkdown(src);
  assert.ok(html.includes("Costs $5 or $6"));
  assert.ok(html.includes('<code>let s = "$x$"</code>'));
  assert.ok(html.includes("hljs-"), "fenced TypeScript is highlighted");
  assert.ok(!html.includes("katex"));
});

test("an inline $ does not pair across a blank line (paragraphs stay separate)", () => {
  assert.equal(extractMath("costs $5\n\nand $6").math.length, 0);
  assert.equal(extractMath("a $x\ny$ b").math.length, 1);
});

test("tables with math cells render as HTML tables", () => {
  const html = renderMarkdown(
    "| quantity | formula |\n|---|---|\n| score | $-\\epsilon/\\sigma$ |",
  );
  assert.ok(html.includes("<table>"));
  assert.ok(html.includes(`<td>${ref("-\\epsilon/\\sigma", false)}</td>`));
});

test("headings get unique ids and are reported for the contents", () => {
  const headings: Heading[] = [];
  const used = new Set<string>();
  const html = renderMarkdown(
    "# Exercise 2\n## (b) The schedule $\\beta(t)$\n## (b) The schedule $\\beta(t)$",
    {
      idPrefix: "nb2-",
      headings,
      usedIds: used,
    },
  );
  assert.deepEqual(
    headings.map((h) => [h.level, h.text, h.id]),
    [
      [1, "Exercise 2", "nb2-exercise-2"],
      [2, "(b) The schedule $\\beta(t)$", "nb2-b-the-schedule-betat"],
      [2, "(b) The schedule $\\beta(t)$", "nb2-b-the-schedule-betat-2"],
    ],
  );
  assert.ok(html.includes('<h2 id="nb2-b-the-schedule-betat-2">'));
});

test("TeX that KaTeX cannot parse is reported and shown in red, not dropped", () => {
  const problems: MathProblem[] = [];
  const html = renderMarkdown("bad $\\frac{1}{$ here", { mathProblems: problems });
  assert.equal(problems.length, 1);
  assert.equal(problems[0].tex, "\\frac{1}{");
  assert.ok(html.includes("katex-error"));
});

test("images can be rewritten (attachments, relative files)", () => {
  const html = renderMarkdown("![fig](attachment:a.png)", {
    resolveImage: (src) => (src === "attachment:a.png" ? "data:image/png;base64,AAAA" : null),
  });
  assert.ok(html.includes('src="data:image/png;base64,AAAA"'));
});

test("raw HTML in Markdown is sanitized: scripts, handlers, frames, styles and file: URLs go", () => {
  const html = renderMarkdown(
    [
      "<script>document.title = 1</script>",
      '<img src="x.png" onerror="alert(1)" alt="broken">',
      '<iframe src="file:///etc/hostname"></iframe><object data="file:///etc/hostname"></object>',
      "<style>body { display: none }</style>",
      '<a href="javascript:alert(1)">js</a> <a href="file:///etc/passwd">file</a>',
      '<div style="background: url(file:///x.png); color: red; position: fixed">styled</div>',
      "",
      "kept text",
    ].join("\n"),
  );
  for (const bad of ["<script", "onerror", "<iframe", "<object", "<style", "display: none"])
    assert.ok(!html.includes(bad), `${bad} removed: ${html}`);
  for (const bad of ["javascript:", "file:", "url(", "fixed", 'src="x.png"'])
    assert.ok(!html.includes(bad), `${bad} removed: ${html}`);
  assert.ok(
    html.includes('alt="broken"') && html.includes(">js</a>") && html.includes(">file</a>"),
  );
  assert.ok(html.includes('style="color:red"'), "a harmless style stays");
  assert.ok(html.includes("kept text"));
});

test("sanitizing keeps KaTeX, tables, highlighted code and embedded images", () => {
  const png = "data:image/png;base64,iVBORw0KGgo=";
  const html = renderMarkdown(
    `| a | b |\n|---|--:|\n| $\\sqrt{x}$ | 2 |\n\n<img src="${png}" alt="plot" width="300">\n\n` +
      "```ts\nconst x = 1;\n```\n\n$$\\overrightarrow{AB} = \\widehat{xyz}$$",
  );
  assert.ok(html.includes(ref("\\sqrt{x}", false)), "inline math (with its SVG surd) intact");
  assert.ok(
    html.includes(ref("\\overrightarrow{AB} = \\widehat{xyz}", true)),
    "display math intact",
  );
  assert.ok(html.includes('<td style="text-align:right">2</td>'));
  assert.ok(html.includes(`<img src="${png}" alt="plot" width="300" />`));
  assert.ok(html.includes('<span class="hljs-keyword">const</span>'));
  assert.ok(/<pre class="listing" style="font-size:[\d.]+pt;white-space:pre">/.test(html));
});

test("math inside an attribute stays TeX source; a placeholder the notebook wrote stays text", () => {
  const html = renderMarkdown('<a title="$x^2$" href="#a">$y$</a> KATEXMATHPLACEHOLDER7X');
  assert.ok(html.includes('title="$x^2$"'), html);
  assert.ok(html.includes(ref("y", false)));
  assert.ok(html.includes("KATEXMATHPLACEHOLDER7X"));
});
