// Typeset TeX to SVG with the pinned MathJax at build time, so pages arrive with finished math.
//
// Usage: node render_math.mjs <node_modules>
// Reads one JSON request per line on stdin:  {"items": [[tex, display], ...], "local": false}
// Writes one JSON answer per line on stdout:
//   {"html": [... or null], "errors": {"<index>": "TeX error: …"}, "defs": "<svg>…</svg>", "css": "…"}
// or {"error": "…"} when the request itself could not be handled.
// A request is one page: its glyph shapes are defined once, in "defs" (a hidden <svg> the page
// carries), and every formula refers to them. With "local": true each formula carries its own
// glyphs instead (for math that appears outside a page's own text, e.g. in the navigation).
// A TeX error is reported for its formula (the build fails on it), never drawn as a red box.
import {createInterface} from 'node:readline';
import {pathToFileURL} from 'node:url';
import path from 'node:path';

const [nodeModules] = process.argv.slice(2);
if (!nodeModules) {
  process.stderr.write('usage: node render_math.mjs <node_modules>\n');
  process.exit(2);
}
const {default: MathJax} = await import(pathToFileURL(path.join(nodeModules, 'mathjax', 'node-main.mjs')).href);

await MathJax.init({
  loader: {load: ['input/tex', 'output/svg']},
  tex: {
    packages: {'[+]': ['ams'], '[-]': ['noundefined', 'noerrors']},
    formatError: (jax, err) => { throw err; },
  },
  svg: {fontCache: 'global'},
});
const adaptor = MathJax.startup.adaptor;
const output = MathJax.startup.output;
const css = adaptor.textContent(MathJax.svgStylesheet());

function finish(node, tex) {
  // the TeX as the formula's accessible name; the drawing itself is hidden from screen readers
  adaptor.setAttribute(node, 'role', 'img');
  adaptor.setAttribute(node, 'aria-label', tex);
  for (const svg of adaptor.tags(node, 'svg')) adaptor.setAttribute(svg, 'aria-hidden', 'true');
  return adaptor.outerHTML(node).replace(/ data-latex="[^"]*"/g, '');
}

async function render(items, local) {
  output.options.fontCache = local ? 'local' : 'global';
  output.fontCache.clearCache();
  const html = [], errors = {};
  for (const [i, [tex, display]] of items.entries()) {
    try {
      html.push(finish(await MathJax.tex2svgPromise(tex, {display}), tex));
    } catch (err) {
      html.push(null);
      errors[i] = `TeX error: ${err.message}`;
    }
  }
  const defs = local ? '' : '<svg xmlns="http://www.w3.org/2000/svg" style="display: none" aria-hidden="true">'
    + adaptor.outerHTML(output.fontCache.getCache()) + '</svg>';
  return {html, errors, defs, css};
}

const lines = createInterface({input: process.stdin, crlfDelay: Infinity});
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const request = JSON.parse(line);
    answer = await render(request.items, Boolean(request.local));
  } catch (err) {
    answer = {error: String(err && err.stack || err)};
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
