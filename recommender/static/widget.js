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
 *   data-events="off"        send no reader events from this box
 *   data-rendered            the list is already in the page (static export): fetch nothing,
 *                            only send events for its links marked data-rec-id="ID"
 * Script attribute data-no-style: skip the default style (it uses :where(), so any site rule
 * already wins over it). Script attribute data-events="off": no events from any box.
 *
 * Reader events (see recommender/feedback/): one "impression" per shown list (source id, the ids
 * with their positions, the configuration or experiment arm and teams the server named) and one
 * "click" per followed link (source, target, position), batched and sent with
 * navigator.sendBeacon (else fetch keepalive) to POST {endpoint}/events. They carry no cookie,
 * user id or anything about the reader; a random token per shown list links a click to its
 * list. Nothing is sent when the browser signals Global Privacy Control.
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

  function render(box, results, ranking) {
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
      link.setAttribute("data-rec-id", item.id);
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
    track(box, ranking);
  }

  function load(box) {
    var id = box.getAttribute("data-article-id");
    var state = box.getAttribute("data-recommender-state");
    if (id && !state && box.hasAttribute("data-rendered")) {
      box.setAttribute("data-recommender-state", "done");
      track(box, null);
      return;
    }
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
        if (data && Array.isArray(data.results)) render(box, data.results, data.ranking);
        box.setAttribute("data-recommender-state", "done");
      })
      .catch(function () { box.setAttribute("data-recommender-state", "error"); });
  }

  // ------------------------------------------------------------------ reader events
  var queue = [], flushTimer = null;

  function eventsOn(box) {
    try {
      if (navigator.globalPrivacyControl === true) return false;
    } catch (e) { return false; }
    var off = function (node) {
      var v = node && node.getAttribute("data-events");
      return v === "off" || v === "false" || v === "0";
    };
    return !off(script) && !off(box);
  }

  function token() {
    var bytes = new Uint8Array(12), out = "";
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
    else for (var i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    for (var j = 0; j < bytes.length; j++) out += (bytes[j] + 256).toString(16).slice(1);
    return out;
  }

  function flush() {
    flushTimer = null;
    var byBase = {};
    while (queue.length) {
      var item = queue.shift();
      (byBase[item.base] = byBase[item.base] || []).push(item.event);
    }
    for (var base in byBase) {
      if (!Object.prototype.hasOwnProperty.call(byBase, base)) continue;
      var events = byBase[base];
      for (var start = 0; start < events.length; start += 50) {
        send(base + "/events", JSON.stringify({ events: events.slice(start, start + 50) }));
      }
    }
  }

  function send(url, body) {
    try {
      // A plain-text body keeps the request "simple": no CORS preflight, nothing to wait for.
      if (navigator.sendBeacon && navigator.sendBeacon(url, body)) return;
    } catch (e) { /* fall back */ }
    try {
      if (typeof fetch === "function") {
        fetch(url, { method: "POST", body: body, keepalive: true, credentials: "omit",
          mode: "no-cors", headers: { "Content-Type": "text/plain;charset=UTF-8" } })
          .catch(function () {});
      }
    } catch (e) { /* never break the page */ }
  }

  function enqueue(base, event, now) {
    queue.push({ base: base, event: event });
    if (now) { if (flushTimer) clearTimeout(flushTimer); flush(); }
    else if (!flushTimer) flushTimer = setTimeout(flush, 1000);
  }

  function track(box, ranking) {
    try {
      if (!eventsOn(box)) return;
      var base = (box.getAttribute("data-endpoint") || defaultEndpoint).replace(/\/+$/, "");
      var links = box.querySelectorAll("[data-rec-id]");
      if (!base || !links.length) return;
      var source = box.getAttribute("data-article-id"), imp = token(), shown = [];
      var config = ranking && typeof ranking.config === "string" ? ranking.config : "default";
      for (var i = 0; i < links.length && i < 50; i++) {
        shown.push({ id: links[i].getAttribute("data-rec-id"), position: i + 1 });
      }
      var impression = { type: "impression", impression: imp, source: source, shown: shown,
        config: config };
      if (ranking && typeof ranking.experiment === "string") impression.experiment = ranking.experiment;
      if (ranking && Array.isArray(ranking.teams) && ranking.teams.length === shown.length) {
        impression.teams = ranking.teams;
      }
      if (ranking && typeof ranking.swap === "number") impression.swap = ranking.swap;
      enqueue(base, impression, false);
      Array.prototype.forEach.call(links, function (link, index) {
        if (index >= 50) return;
        link.addEventListener("click", function () {
          enqueue(base, { type: "click", impression: imp, source: source, config: config,
            target: link.getAttribute("data-rec-id"), position: index + 1 }, true);
        });
      });
    } catch (e) { /* never break the page */ }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && queue.length) flush();
  });
  window.addEventListener("pagehide", function () { if (queue.length) flush(); });

  function scan(root) {
    try {
      var boxes = (root || document).querySelectorAll("[data-recommender]");
      for (var i = 0; i < boxes.length; i++) {
        try { load(boxes[i]); } catch (e) { /* one bad box must not stop the others */ }
      }
    } catch (e) { /* never break the page */ }
  }

  window.recommenderWidget = { scan: scan, flush: flush, safeHref: safeHref };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(); });
  } else {
    scan();
  }
})();
