"""A Hugo site of the bundled demo corpus, end to end with the real model and the real ``hugo``:
how many posts show a list, how many links resolve, and how many data files one edit rewrites
(visible-change rule) against how many the byte rule would have rewritten (every score shifts).
Not a speed benchmark: the figures are counts.

    .venv/bin/python benchmarks/site_edit.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import finish, machine, md_table, record, write_fragment

from recommender.demo import demo_articles_path
from recommender.engine import Engine
from recommender.export import _dump, export, safe_name, visible
from recommender.intake import accept, gather
from recommender.sites.templates import install

EDITED = "russia-china-summit-video-call"


def write_site(root: Path) -> None:
    """Every demo article as a Hugo post (own words of the corpus, not a real site)."""
    root.mkdir(parents=True)
    (root / "hugo.toml").write_text(
        'baseURL = "https://example.org/news/"\ntitle = "Demo"\n'
        'disableKinds = ["taxonomy", "term", "rss", "sitemap"]\n'
        '[permalinks.page]\n  world = "/:year/:month/:slug/"\n'
    )
    layouts = root / "layouts" / "_default"
    layouts.mkdir(parents=True)
    (layouts / "single.html").write_text(
        '<h1>{{ .Title }}</h1>{{ partial "recommender/related.html" . }}\n'
    )
    (layouts / "list.html").write_text("{{ range .Pages }}{{ .Title }}{{ end }}\n")
    for line in demo_articles_path().read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        section = item.get("category") or "news"
        meta = {
            "title": item["title"],
            "date": item.get("published_at"),
            "tags": item.get("tags") or [],
            "slug": item["id"],
        }
        folder = root / "content" / section
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{item['id']}.md").write_text(
            json.dumps(meta, indent=2) + "\n" + (item.get("body") or "") + "\n"
        )


def build_and_export(root: Path) -> tuple[Engine, Any, float]:
    started = time.perf_counter()
    articles = accept(gather([root]))
    read_s = time.perf_counter() - started
    Engine.build(articles, root / ".recommender" / "index")
    engine = Engine.load(root / ".recommender" / "index")
    report = export(engine, root, format="hugo", k=5)
    install(root, "hugo")
    return engine, report, read_s


def hugo_check(root: Path, engine: Engine) -> dict[str, int]:
    hugo = Path(sys.executable).parent / "hugo"
    subprocess.run([str(hugo), "--source", str(root), "--quiet"], check=True, timeout=300)
    public = root / "public"
    posts = with_list = links = resolved = 0
    for article_id in engine.ids():
        url = engine.article(article_id).url or ""
        page = public / url.removeprefix("/news/") / "index.html"
        html = page.read_text(encoding="utf-8") if page.is_file() else ""
        posts += 1
        with_list += 'class="related"' in html
        for href in html.split('<section class="related"', 1)[-1].split('href="')[1:]:
            target = href.split('"', 1)[0]
            links += 1
            resolved += (public / target.removeprefix("/news/") / "index.html").is_file()
    return {"posts": posts, "with_list": with_list, "links": links, "resolved": resolved}


def main() -> None:
    info = machine()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "site"
        write_site(root)
        engine, first, read_s = build_and_export(root)
        checks = hugo_check(root, engine)
        data = root / "data" / "related"
        before = {p.name: p.read_bytes() for p in data.glob("*.json")}
        post = next(root.glob(f"content/*/{EDITED}.md"))
        text = post.read_text()  # a headline fixed and a sentence added: a typical edit
        text = text.replace('"title": "', '"title": "Updated: ', 1)
        post.write_text(text + "\nOfficials said talks would continue next month.\n")
        engine, second, _ = build_and_export(root)
        fresh = {safe_name(a) + ".json": rs for a, rs in engine.related_many(None, 5)}
        byte_rule = sum(
            _dump({"id": json.loads(before[n])["id"], "results": [r.to_dict() for r in rs]})
            != before[n]
            for n, rs in fresh.items()
        )
        visible_changes = sum(
            visible([r.to_dict() for r in rs]) != visible(json.loads(before[n])["results"])
            for n, rs in fresh.items()
        )
        shutil.rmtree(root / "public", ignore_errors=True)
    figures = {
        **checks,
        "site_read_s": round(read_s, 3),
        "files": len(before),
        "rewritten_after_edit": second.written,
        "visible_changes": visible_changes,
        "byte_rule_would_rewrite": byte_rule,
        "first_export_written": first.written,
    }
    line = record("site_edit", info, figures)
    body = (
        "The bundled demo corpus as a Hugo site (one post per article, JSON front matter), built"
        " with the packaged model, exported, rendered by the real `hugo`; then one sentence"
        f" added to `{EDITED}` and its headline changed, then the whole cycle run again.\n\n"
        + md_table(
            ["figure", "value"],
            [
                ["posts (published)", figures["posts"]],
                ["posts showing a list", figures["with_list"]],
                ["links / resolving to a generated page", f"{links_pair(figures)}"],
                ["site read (front matter, URLs), s", figures["site_read_s"]],
                ["data files", figures["files"]],
                ["rewritten after the edit", figures["rewritten_after_edit"]],
                ["lists whose visible content changed", figures["visible_changes"]],
                ["files the byte rule would have rewritten", figures["byte_rule_would_rewrite"]],
            ],
        )
    )
    write_fragment("site_edit", "Sites: one edit, few rewrites", body, info, line)
    print(json.dumps(figures, indent=2))
    finish()


def links_pair(f: dict[str, Any]) -> str:
    return f"{f['links']} / {f['resolved']}"


if __name__ == "__main__":
    main()
