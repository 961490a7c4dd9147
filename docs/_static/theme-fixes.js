/* Repairs for sphinx-book-theme 1.4.0 on pydata-sphinx-theme 0.20.0, and what Bootstrap's
   JavaScript (not loaded: docs/_templates/static/webpack-macros.html) used to do. See docs/_ext/light_theme.py,
   "The theme, lightened and repaired"; tests/test_theme.py checks each part in a browser. */
"use strict";

/* The colour mode, settled before the page is drawn (this script runs in <head>). On a first
   visit the theme's inline script sets html[data-mode] and [data-theme] to "" (nothing stored
   yet); its deferred script then sets "auto" and "light" or "dark", and the browser computes the
   style of the whole page a second time (8,600 elements on a long page of math, 50-100 ms here).
   Here they get at once the values the theme's script will give them (its setTheme()). */
(() => {
  const html = document.documentElement;
  const mode = ["auto", "light", "dark"].includes(html.dataset.mode) ? html.dataset.mode : "auto";
  const dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
  html.dataset.mode = mode;
  html.dataset.theme = mode === "auto" ? (dark ? "dark" : "light") : mode;
})();

/* Keyboard access to what scrolls sideways, without laying out the whole page at its load event.
   pydata's "load" listener (addTabStopsToScrollableElements) gives every code block, cell output
   and table box tabindex 0 if it scrolls (a keyboard user can focus it and scroll it) and -1 if
   not; to know, it measures all of them at once, which lays out every section the browser had
   skipped as off screen (content-visibility, derivations.css): 350 ms on the notation page, the
   longest part of its load. Its listener is not added (it is recognised by the script that adds
   it); instead each of those elements gets the same tabindex when it first comes near the screen
   (laid out by then, so measuring it costs nothing more) and when it is there after a change of
   the window's width, and all of them at once at the first press of Tab (before the focus moves).
   html[data-tab-stops] says which of the two ran: "when-seen" here, absent if the theme's did. */
const SCROLL_BOXES = ["pre", ".nboutput > .output_area", ".cell_output > .output", ".jp-RenderedHTMLCommon",
  ".pst-scrollable-table-container"].join(", ");

(() => {
  const add = window.addEventListener;
  window.addEventListener = function (type, listener, options) {
    const script = document.currentScript;
    if (type === "load" && script && /\/pydata-sphinx-theme\.js/.test(script.src)) {
      document.documentElement.dataset.tabStops = "when-seen";
      return undefined;
    }
    return add.call(this, type, listener, options);
  };
  document.addEventListener("DOMContentLoaded", () => { window.addEventListener = add; }, { once: true });
})();

function tabStopsWhenSeen() {
  if (document.documentElement.dataset.tabStops !== "when-seen") return; // the theme's listener runs
  const boxes = [...document.querySelectorAll(SCROLL_BOXES)];
  const scrolls = (el) => el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight;
  const set = (els) => {
    const stops = els.map((el) => (scrolls(el) ? 0 : -1)); // every measure first, then every change
    els.forEach((el, k) => { el.tabIndex = stops[k]; });
  };
  const seen = new IntersectionObserver((entries) => {
    set(entries.filter((e) => e.isIntersecting).map((e) => e.target));
  }, { rootMargin: "300px 0px" });
  const observeAll = () => { seen.disconnect(); boxes.forEach((el) => seen.observe(el)); };
  observeAll();
  let width = window.innerWidth;
  window.addEventListener("resize", () => {
    if (window.innerWidth !== width) { width = window.innerWidth; observeAll(); }
  }, { passive: true });
  document.addEventListener("keydown", (event) => { if (event.key === "Tab") set(boxes); },
    { capture: true, once: true });
}

/* The sidebar toggles (pydata/pydata-sphinx-theme#2451, executablebooks/sphinx-book-theme#988).
   Both themes' scripts attach their listeners to document.querySelector(".primary-toggle") (and
   ".secondary-toggle"): the first such button, pydata's header button, which sphinx-book-theme
   hides. The button a reader sees, in the article header, comes second and did nothing. Here a
   click on it is a click on the first: below 992 px pydata opens the sidebar as a dialog; from
   992 px sphinx-book-theme collapses or restores the primary sidebar. (When the themes attach a
   listener to every toggle, remove this: the desktop toggle would act twice, and the tests say
   so.) */
function forwardSidebarToggles(selector) {
  const [first, ...others] = document.querySelectorAll(selector);
  for (const button of others) {
    button.addEventListener("click", () => first.click());
  }
}

/* docs/_templates/theme-switcher.html: one button steps through the colour modes. The theme's
   script sets the mode that the clicked .theme-change-button names in data-mode; this listener
   runs before it (a capture listener on the target runs first) and names the mode after the
   current one. */
function cycleColorMode() {
  const modes = ["auto", "light", "dark"];
  for (const button of document.querySelectorAll(".theme-switch-button.theme-change-button")) {
    button.addEventListener("click", () => {
      const now = modes.indexOf(document.documentElement.dataset.mode); // -1: none set yet
      button.dataset.mode = modes[(now + 1) % modes.length];
    }, true);
  }
}

/* "Back to top" (the theme's layout has the button; Bootstrap's bundle ran it): shown while the
   reader scrolls up, once past the header, as the theme did. */
function backToTop() {
  const button = document.getElementById("pst-back-to-top");
  if (!button) return; // html_theme_options back_to_top_button = False
  const header = document.querySelector(".bd-header");
  if (!header) throw new Error("theme-fixes.js: no .bd-header to place the back-to-top button under");
  const headerBottom = header.getBoundingClientRect().bottom + window.scrollY;
  let last = window.scrollY;
  window.addEventListener("scroll", () => {
    const up = window.scrollY < last;
    last = window.scrollY;
    button.style.display = up && window.scrollY > headerBottom ? "block" : "none";
  }, { passive: true });
  button.addEventListener("click", () => window.scrollTo(0, 0));
}

/* Search snippets. Under each result Sphinx's search shows text around the query, taken from the
   result page's [role=main] element (searchtools.js, Search.htmlToText). In this theme that
   element also holds the article header (the colour-mode, search and sidebar buttons), the
   print-only table of contents, the previous/next links and the footer; and the article holds
   hidden code cells (the page's plumbing), which light_theme.py marks no-search: Sphinx's index skips
   them, its snippets did not. Here the text comes from the article without them; Sphinx's own
   function still cuts it (and finds a result's anchor). */
function searchSnippetsFromArticle() {
  if (!document.getElementById("search-results")) return; // not the search page
  if (typeof Search === "undefined") {
    throw new Error("theme-fixes.js: the search page has no Search (Sphinx's searchtools.js)");
  }
  const sphinxHtmlToText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => {
    const doc = new DOMParser().parseFromString(htmlString, "text/html");
    const main = doc.querySelector('[role="main"]');
    const article = main && main.querySelector("article.bd-article");
    if (!article) {
      throw new Error("theme-fixes.js: a search result's page has no [role=main] article.bd-article");
    }
    article.querySelectorAll(".no-search").forEach((el) => el.remove());
    main.replaceChildren(article);
    return sphinxHtmlToText(doc.documentElement.outerHTML, anchor);
  };
}

document.addEventListener("DOMContentLoaded", () => {
  forwardSidebarToggles(".primary-toggle");
  forwardSidebarToggles(".secondary-toggle");
  cycleColorMode();
  backToTop();
  searchSnippetsFromArticle();
  tabStopsWhenSeen();
});
