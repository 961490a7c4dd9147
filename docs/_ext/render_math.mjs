// Typeset TeX to SVG with the pinned MathJax at build time, so pages arrive with finished math.
//
// Usage: node render_math.mjs <node_modules> <socket>
// Listens on the Unix socket; each connection sends JSON requests, one per line:
//   {"items": [[tex, display], ...], "local": false}
// and gets one JSON answer per line:
//   {"html": [... or null], "errors": {"<index>": "TeX error: …"}, "defs": "<svg>…</svg>", "css": "…"}
// or {"error": "…"} when the request itself could not be handled.
// A request is one page: its glyph shapes are defined once, in "defs" (a hidden <svg> the page
// carries), and every formula refers to them. With "local": true each formula carries its own
// glyphs instead (for math that appears outside a page's own text, e.g. in the navigation).
// Requests are handled one at a time. A TeX error is reported for its formula (the build fails
// on it), never drawn as a red box. The server exits when its standard input closes.
import {createServer} from 'node:net';
import {pathToFileURL} from 'node:url';
import path from 'node:path';

const [nodeModules, socketPath] = process.argv.slice(2);
if (!nodeModules || !socketPath) {
  process.stderr.write('usage: node render_math.mjs <node_modules> <socket>\n');
  process.exit(2);
}
const {default: MathJax} = await import(pathToFileURL(path.join(nodeModules, 'mathjax', 'node-main.mjs')).href);

await MathJax.init({
  loader: {load: ['input/tex', 'output/svg']},
  tex: {
    packages: {'[+]': ['ams'], '[-]': ['noundefined', 'noerrors']},
    formatError: (jax, err) => { throw err; },
  },
  // in-line math breaks at + and − (MathJax cuts it into pieces the browser wraps): the rows of
  // a display block are typeset in-line (math_layout.py), so they break where the column ends
  svg: {fontCache: 'global', linebreaks: {inline: true}},
});
const adaptor = MathJax.startup.adaptor;
const output = MathJax.startup.output;
const css = adaptor.textContent(MathJax.svgStylesheet());

// What a browser does not need of MathJax's SVG: the MathML node names and TeX classes on every
// group (kept on an error, which the build refuses anyway), the code point on every glyph, and the
// groups that only carried those names (no transform, no other attribute: their children take
// their place). A page holds thousands of these groups; parsing and styling them is most of the
// time a large page takes to load.
const PLUMBING = ['data-mml-node', 'data-mjx-texclass', 'data-c', 'data-latex'];

function lighten(node) {
  for (const child of [...adaptor.childNodes(node)]) {
    if (adaptor.kind(child) !== '#text') lighten(child);
  }
  if (adaptor.kind(node) === '#text' || adaptor.getAttribute(node, 'data-mml-node') === 'merror') return;
  for (const name of PLUMBING) adaptor.removeAttribute(node, name);
  if (adaptor.kind(node) === 'g' && adaptor.allAttributes(node).length === 0 && adaptor.parent(node)) {
    for (const child of [...adaptor.childNodes(node)]) adaptor.insert(child, node);
    adaptor.remove(node);
  }
}

function finish(node, tex) {
  // the TeX as the formula's accessible name; the drawing itself is hidden from screen readers
  adaptor.setAttribute(node, 'role', 'img');
  adaptor.setAttribute(node, 'aria-label', tex);
  for (const svg of adaptor.tags(node, 'svg')) {
    adaptor.setAttribute(svg, 'aria-hidden', 'true');
    lighten(svg);
  }
  return adaptor.outerHTML(node);
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

async function answer(line) {
  try {
    const request = JSON.parse(line);
    return await render(request.items, Boolean(request.local));
  } catch (err) {
    return {error: String(err && err.stack || err)};
  }
}

let queue = Promise.resolve();  // one request at a time: the glyph cache belongs to one page
const server = createServer(conn => {
  conn.setEncoding('utf8');
  let buffer = '';
  conn.on('data', chunk => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      if (line.trim()) queue = queue.then(() => answer(line)).then(a => { conn.write(JSON.stringify(a) + '\n'); });
    }
  });
  conn.on('error', () => {});
});
server.listen(socketPath);
process.stdin.resume();
process.stdin.on('end', () => { server.close(); process.exit(0); });
