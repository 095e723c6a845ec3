"""Which article URLs may become links: ``http(s)`` and site-relative ones, nothing else.

One rule, applied everywhere a URL can turn into a link:

- at ingest (:func:`recommender.articles.article_from_mapping`): an unsafe ``url`` is not
  stored as the article's URL; the value is kept, inert, in the metadata field ``url_unsafe``;
- on output (:meth:`recommender.results.Recommendation.to_dict`, so the CLI's ``--json``, the
  HTTP API and the static export): an index built before this rule still gives no unsafe URL;
- in the templates of docs/static-export.md and in ``recommender/static/widget.js``, which
  repeat the same test (a site may feed them data from elsewhere).

Browsers forgive a lot when they read a URL: they drop tabs and newlines anywhere
(``java\\tscript:``), strip leading spaces and control characters, ignore the case of the
scheme (``JaVaScRiPt:``), and read ``\\`` as ``/``. Rather than guess how each browser
repairs a URL, anything a browser would have to repair is refused.
"""

from __future__ import annotations

import re
import unicodedata

SAFE_SCHEMES = ("http", "https")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# Control, format (bidi, zero-width), separator and unassigned characters: never in a URL.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def safe_href(url: object) -> str | None:
    """``url`` (stripped of outer spaces) if it may be a link's ``href``, else ``None``.

    Accepted: ``http://`` and ``https://`` URLs with a host, and relative references that stay
    on the site (``/world/summit``, ``world/summit``, ``?page=2``, ``#top``). Refused: every
    other scheme (``javascript:``, ``data:``, ``vbscript:``, ``file:``, ``mailto:``...), in any
    case; protocol-relative ``//host`` and anything with a backslash; any control, bidi or
    invisible character anywhere; an ``&`` before the first ``/``, ``?`` or ``#`` (a template
    that forgets to escape would let ``javascript&colon;`` through); empty strings.
    """
    if not isinstance(url, str):
        return None
    text = url.strip(" ")
    if not text or len(text) > 8192:
        return None
    if "\\" in text or any(unicodedata.category(c) in _REFUSED_CATEGORIES for c in text):
        return None
    scheme = _SCHEME.match(text)
    if scheme:
        if scheme.group(1).lower() not in SAFE_SCHEMES:
            return None
        rest = text[scheme.end() :]
        host = rest[2:].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        return text if rest.startswith("//") and host.strip(" ") else None
    if text.startswith("//"):
        return None  # protocol-relative: another host, not "site-relative"
    first_segment = re.split(r"[/?#]", text, maxsplit=1)[0]
    if "&" in first_segment or ":" in first_segment:
        return None
    return text
