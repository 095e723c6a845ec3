"""The Hugo partial and the Jekyll include that show a page's read-more list, written into a
site on export when absent, and never over a copy the site's owner has edited.

Both look the page up by the generator's own identity (Hugo ``.File.Path``, Jekyll
``page.path``), escape titles and URLs, render a link only for ``http(s)://`` or site-relative
(``/...``) URLs without control characters or spaces, and render nothing for an empty list.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from recommender.errors import PathError

HUGO_PATH = Path("layouts/partials/recommender/related.html")
HUGO_LINE = '{{ partial "recommender/related.html" . }}'
JEKYLL_PATH = Path("_includes/recommender/related.html")
JEKYLL_LINE = "{% include recommender/related.html %}"
RECORD = Path(".recommender/templates.json")  # sha256 of what we wrote, per template

HUGO_PARTIAL = """\
{{- /* Written by `recommender export --format hugo`. Edit freely: an edited copy is never
  overwritten. Use in a single-page template: {{ partial "recommender/related.html" . }} */ -}}
{{- $items := slice -}}
{{- with .File -}}
  {{- with index site.Data.related (urlquery .Path) -}}{{- $items = .results -}}{{- end -}}
{{- end -}}
{{- with $items -}}
<section class="related" aria-labelledby="related-heading">
  <h2 id="related-heading">Read more</h2>
  <ul>
  {{- range . }}
    {{- $url := "" -}}{{- with .url -}}{{- $url = trim (string .) " " -}}{{- end -}}
    {{- $low := lower $url -}}
    {{- $web := or (hasPrefix $low "https://") (hasPrefix $low "http://") -}}
    {{- $site := and (hasPrefix $url "/") (not (hasPrefix $url "//")) -}}
    {{- $clean := eq (len (findRE `[\\x00-\\x20\\x7f\\\\]` $url)) 0 -}}
    <li>
      {{- if and $clean (or $web $site) }}<a href="{{ $url }}">{{ .title }}</a>
      {{- else }}{{ .title }}{{ end }}
      {{- with .published_at }} <time datetime="{{ . }}">
        {{- time.Format "Jan 2, 2006" . }}</time>{{ end -}}
    </li>
  {{- end }}
  </ul>
</section>
{{- end -}}
"""

JEKYLL_INCLUDE = """\
{%- comment -%}
Written by `recommender export --format jekyll`. Edit freely: an edited copy is never
overwritten. Use in the post layout: {% include recommender/related.html %}
{%- endcomment -%}
{%- assign recommender_items = site.data.related[page.path] -%}
{%- if recommender_items and recommender_items.size > 0 -%}
<section class="related" aria-labelledby="related-heading">
  <h2 id="related-heading">Read more</h2>
  <ul>
  {%- for recommender_item in recommender_items %}
    {%- assign recommender_url = recommender_item.url | default: "" | strip -%}
    {%- assign recommender_squeezed = recommender_url | strip_newlines | replace: " ", "" \
| replace: "\t", "" | replace: "\\", "" -%}
    {%- assign recommender_https = recommender_url | slice: 0, 8 | downcase -%}
    {%- assign recommender_http = recommender_url | slice: 0, 7 | downcase -%}
    {%- assign recommender_first = recommender_url | slice: 0, 1 -%}
    {%- assign recommender_second = recommender_url | slice: 1, 1 -%}
    {%- assign recommender_link = false -%}
    {%- if recommender_https == "https://" or recommender_http == "http://" -%}
      {%- assign recommender_link = true -%}
    {%- endif -%}
    {%- if recommender_first == "/" and recommender_second != "/" -%}
      {%- assign recommender_link = true -%}
    {%- endif -%}
    {%- if recommender_squeezed != recommender_url -%}
      {%- assign recommender_link = false -%}
    {%- endif %}
    <li>
      {%- if recommender_link %}<a href="{{ recommender_url | escape }}">\
{{ recommender_item.title | escape }}</a>
      {%- else %}{{ recommender_item.title | escape }}{% endif -%}
      {%- if recommender_item.published_at %} <time datetime="{{ recommender_item.published_at \
| escape }}">{{ recommender_item.published_at | date: "%b %-d, %Y" }}</time>{% endif -%}
    </li>
  {%- endfor %}
  </ul>
</section>
{%- endif -%}
"""

TEMPLATES = {
    "hugo": (HUGO_PATH, HUGO_PARTIAL, HUGO_LINE),
    "jekyll": (JEKYLL_PATH, JEKYLL_INCLUDE, JEKYLL_LINE),
}


@dataclass(frozen=True)
class TemplateResult:
    """What happened to the site's template file."""

    path: Path
    status: str  # "written", "updated", "unchanged" or "kept" (edited by the site's owner)
    line: str  # the line to put in the page template


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def install(root: str | Path, generator: str) -> TemplateResult:
    """See :func:`_install`; a file that cannot be read or written is a :class:`PathError`."""
    try:
        return _install(Path(root), generator)
    except OSError as exc:
        raise PathError(exc.filename or root, "write the template into", exc) from None


def _install(root: Path, generator: str) -> TemplateResult:
    """Write the generator's partial/include under ``root`` unless an edited copy is there.

    A file we wrote (its hash is in ``.recommender/templates.json``) is brought up to date; a
    file someone changed, or wrote themselves, is left exactly as it is.
    """
    rel, text, line = TEMPLATES[generator]
    target = root / rel
    record_path = root / RECORD
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    ours = text.encode("utf-8")
    if target.exists():
        current = target.read_bytes()
        if current == ours:
            status = "unchanged"
        elif record.get(rel.as_posix()) == _digest(current):
            status = "updated"
        else:
            return TemplateResult(target, "kept", line)
    else:
        status = "written"
    if status != "unchanged":
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(ours)
        os.replace(tmp, target)
    record[rel.as_posix()] = _digest(ours)
    record_path.parent.mkdir(parents=True, exist_ok=True)
    record_path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return TemplateResult(target, status, line)
