/*! recommender widget: an accessible "Read more" list, no dependencies.
 *
 *   <div data-recommender data-article-id="ID"></div>
 *   <script src="https://HOST/widget.js" data-endpoint="https://HOST" async></script>
 *
 * Box attributes (all optional but data-article-id):
 *   data-k="5"               how many links (1..50)
 *   data-heading="Read more" heading text; data-heading-level="2" (2..6)
 *   data-show-date="true"    show each article's date; data-show-section="true" its section
 *   data-exclude="a,b"       ids not to show (e.g. already linked on the page)
 *   data-endpoint="..."      API base for this box (default: the script's data-endpoint,
 *                            else the origin the script was loaded from)
 * Script attribute data-no-style: skip the default style (it uses :where(), so any site rule
 * already wins over it).
 *
 * Markup (style these classes): section.rec-widget > h2.rec-widget__heading +
 * ul.rec-widget__list > li.rec-widget__item > a.rec-widget__link + span.rec-widget__meta >
 * time.rec-widget__date + span.rec-widget__section
 *
 * Safety: every field is set with textContent / setAttribute, never parsed as HTML; a URL
 * becomes a link only if it is http(s) or site-relative (the rule of recommender/urls.py),
 * else the title is plain text. On any error the box stays empty and nothing throws.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var defaultEndpoint = "";
  try {
    defaultEndpoint = (script && script.getAttribute("data-endpoint")) ||
      (script && script.src ? new URL(script.src, document.baseURI).origin : "");
  } catch (e) { /* keep "" */ }
  var noStyle = !!(script && script.hasAttribute("data-no-style"));
  var CSS =
    ":where(.rec-widget){margin:2em 0;font:inherit}" +
    ":where(.rec-widget__heading){font-size:1.1em;margin:0 0 .5em}" +
    ":where(.rec-widget__list){list-style:none;margin:0;padding:0}" +
    ":where(.rec-widget__item){margin:0 0 .6em}" +
    ":where(.rec-widget__link){font-weight:600}" +
    ":where(.rec-widget__meta){display:block;font-size:.85em;opacity:.75}";
  var counter = 0;

  function flag(box, name) {
    var value = box.getAttribute(name);
    return value !== null && value !== "false" && value !== "0";
  }

  // The rule of recommender/urls.py (safe_href): an http(s) URL with a host, or a relative
  // reference that stays on the site. Anything a browser would have to repair first (tabs or
  // newlines inside "java\tscript:", control, bidi or invisible characters, a backslash, a
  // protocol-relative "//host") is refused rather than repaired.
  var REFUSED;
  try {
    REFUSED = new RegExp("[\\p{Cc}\\p{Cf}\\p{Cs}\\p{Co}\\p{Cn}\\p{Zl}\\p{Zp}\\\\]", "u");
  } catch (e) { // browsers without Unicode property escapes: the usual suspects by range
    REFUSED = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\\]/;
  }

  function safeHref(value) {
    if (typeof value !== "string") return null;
    var text = value.replace(/^ +| +$/g, "");
    if (!text || text.length > 8192 || REFUSED.test(text)) return null;
    var scheme = /^([A-Za-z][A-Za-z0-9+.\-]*):/.exec(text);
    if (scheme) {
      var name = scheme[1].toLowerCase();
      var rest = text.slice(scheme[0].length);
      if ((name !== "http" && name !== "https") || rest.slice(0, 2) !== "//" ||
          !/^[^\/?# ]/.test(rest.slice(2))) return null;
    } else {
      var first = text.split(/[\/?#]/)[0];
      if (text.slice(0, 2) === "//" || first.indexOf("&") !== -1 || first.indexOf(":") !== -1) {
        return null;
      }
    }
    try {
      var url = new URL(text, document.baseURI);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.setAttribute("class", className);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function addStyle() {
    if (noStyle || document.getElementById("rec-widget-style")) return;
    var style = el("style", null, CSS);
    style.id = "rec-widget-style";
    (document.head || document.documentElement).insertBefore(
      style, (document.head || document.documentElement).firstChild);
  }

  function formatDate(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return null;
    try {
      return date.toLocaleDateString(document.documentElement.lang || undefined,
        { year: "numeric", month: "short", day: "numeric" });
    } catch (e) {
      return iso.slice(0, 10);
    }
  }

  function render(box, results) {
    var items = [];
    for (var i = 0; i < results.length; i++) {
      var r = results[i];
      if (r && typeof r.title === "string" && r.title) items.push(r);
    }
    if (!items.length) return;
    var level = parseInt(box.getAttribute("data-heading-level") || "2", 10);
    if (!(level >= 2 && level <= 6)) level = 2;
    var headingId = "rec-widget-heading-" + (++counter);
    var section = el("section", "rec-widget");
    section.setAttribute("aria-labelledby", headingId);
    var heading = el("h" + level, "rec-widget__heading",
      box.getAttribute("data-heading") || "Read more");
    heading.id = headingId;
    var list = el("ul", "rec-widget__list");
    var showDate = flag(box, "data-show-date"), showSection = flag(box, "data-show-section");
    for (var j = 0; j < items.length; j++) {
      var item = items[j];
      var li = el("li", "rec-widget__item");
      var href = safeHref(item.url);
      var link = el(href ? "a" : "span", "rec-widget__link", item.title);
      if (href) link.setAttribute("href", href);
      li.appendChild(link);
      var meta = el("span", "rec-widget__meta");
      var when = showDate && typeof item.published_at === "string" ? formatDate(item.published_at) : null;
      if (when) {
        var time = el("time", "rec-widget__date", when);
        time.setAttribute("datetime", item.published_at);
        meta.appendChild(time);
      }
      if (showSection && typeof item.category === "string" && item.category) {
        if (when) meta.appendChild(document.createTextNode(" \u00b7 "));
        meta.appendChild(el("span", "rec-widget__section", item.category));
      }
      if (meta.childNodes.length) li.appendChild(meta);
      list.appendChild(li);
    }
    section.appendChild(heading);
    section.appendChild(list);
    addStyle();
    box.appendChild(section);
  }

  function load(box) {
    var id = box.getAttribute("data-article-id");
    var state = box.getAttribute("data-recommender-state");
    if (!id || state || typeof fetch !== "function") return;
    box.setAttribute("data-recommender-state", "loading");
    var k = parseInt(box.getAttribute("data-k") || "5", 10);
    k = k >= 1 && k <= 50 ? k : 5;
    var base = (box.getAttribute("data-endpoint") || defaultEndpoint).replace(/\/+$/, "");
    var url = base + "/related/" + encodeURIComponent(id) + "?k=" + k;
    var exclude = box.getAttribute("data-exclude");
    if (exclude) url += "&exclude=" + encodeURIComponent(exclude);
    fetch(url, { credentials: "omit", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && Array.isArray(data.results)) render(box, data.results);
        box.setAttribute("data-recommender-state", "done");
      })
      .catch(function () { box.setAttribute("data-recommender-state", "error"); });
  }

  function scan(root) {
    try {
      var boxes = (root || document).querySelectorAll("[data-recommender]");
      for (var i = 0; i < boxes.length; i++) {
        try { load(boxes[i]); } catch (e) { /* one bad box must not stop the others */ }
      }
    } catch (e) { /* never break the page */ }
  }

  window.recommenderWidget = { scan: scan, safeHref: safeHref };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(); });
  } else {
    scan();
  }
})();
