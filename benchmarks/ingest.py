"""Ingest: how fast each publisher format is read, and how fast a published article is served.

1. **Read rate per format** (parse + validate + normalize, no embedding): the same synthetic
   articles (pseudo-word news, ~130 words each) written as JSONL, a WordPress export (WXR),
   RSS 2.0, Atom and a folder of HTML pages (nav, footer, related box, Open Graph and JSON-LD,
   like a built news site), each read by ``recommender.sources.read_inputs``; articles/s and
   the ratio to JSONL.
2. **Publish-to-visible** for one article into a 10k index: a real ``recommender serve`` on
   127.0.0.1 with a write token; ``PUT /articles/{id}`` of a new article, then ``GET
   /related/{id}`` until it answers 200, while a reader thread keeps calling ``GET /related`` on
   another article (its failed reads are counted), then ``/metrics`` until the background
   refresh has ranked the lists the write left pending (``recommender_lists_pending`` 0).
   The index holds 10,000 synthetic articles
   whose vectors are synthetic clustered 384-d vectors (as in query.py), recorded under the
   packaged model's name, so the server embeds each new article with the real
   all-MiniLM-L6-v2. Against it: ``recommender upsert one.jsonl`` as a new process (process
   start, imports, model load, embed, write), the CLI path a CMS has without the API.

    .venv/bin/python benchmarks/ingest.py                 # --articles 2000 --publishes 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import finish, fmt, machine, md_table, record, write_fragment

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "benchmark-token"
PYTHON = [sys.executable, "-c", "from recommender.cli import main; main()"]


# ---------------------------------------------------------------------------- corpus and formats
def corpus(n: int) -> list[Any]:
    """``n`` synthetic articles with bodies of four paragraphs (query.py's generator)."""
    import dataclasses

    from query import synthetic_corpus

    articles, _ = synthetic_corpus(n)
    return [
        dataclasses.replace(
            a,
            body="\n".join(f"{a.body} Paragraph {p} adds detail to the story." for p in range(4)),
            url=f"https://news.example/{a.category}/{a.id}/",
        )
        for a in articles
    ]


def write_jsonl(articles: list[Any], folder: Path) -> Path:
    path = folder / "articles.jsonl"
    with path.open("w") as out:
        for a in articles:
            out.write(json.dumps(a.to_dict()) + "\n")
    return path


def _paragraphs(body: str) -> str:
    return "".join(f"<p>{html.escape(p)}</p>\n" for p in body.split("\n"))


def write_wxr(articles: list[Any], folder: Path) -> Path:
    path = folder / "export.wordpress.xml"
    with path.open("w") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            'xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:wp="http://wordpress.org/export/1.2/">\n<channel>\n<title>Bench</title>\n'
            "<language>en-US</language>\n<wp:wxr_version>1.2</wp:wxr_version>\n"
        )
        for i, a in enumerate(articles):
            date = a.published_at.strftime("%Y-%m-%d %H:%M:%S")
            tags = "".join(
                f'<category domain="post_tag" nicename="{t}"><![CDATA[{t}]]></category>'
                for t in a.tags
            )
            content = "".join(
                f"<!-- wp:paragraph -->\n{p}<!-- /wp:paragraph -->\n"
                for p in _paragraphs(a.body).splitlines()
            )
            out.write(
                f"<item><title><![CDATA[{a.title}]]></title><link>{a.url}</link>"
                f"<dc:creator><![CDATA[editor]]></dc:creator>"
                f'<guid isPermaLink="false">https://news.example/?p={i + 1}</guid>'
                f"<content:encoded><![CDATA[{content}]]></content:encoded>"
                f"<excerpt:encoded><![CDATA[]]></excerpt:encoded>"
                f"<wp:post_id>{i + 1}</wp:post_id><wp:post_date_gmt><![CDATA[{date}]]>"
                f"</wp:post_date_gmt><wp:status><![CDATA[publish]]></wp:status>"
                f"<wp:post_type><![CDATA[post]]></wp:post_type>"
                f'<category domain="category" nicename="{a.category}"><![CDATA[{a.category}]]>'
                f"</category>{tags}<wp:postmeta><wp:meta_key>_edit_last</wp:meta_key>"
                f"<wp:meta_value>1</wp:meta_value></wp:postmeta></item>\n"
            )
        out.write("</channel></rss>\n")
    return path


def write_rss(articles: list[Any], folder: Path) -> Path:
    path = folder / "feed.rss"
    items = "".join(
        f"<item><title>{html.escape(a.title)}</title><link>{a.url}</link>"
        f'<guid isPermaLink="false">{a.id}</guid>'
        f"<pubDate>{a.published_at.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<category>{a.category}</category>"
        + "".join(f"<category>{t}</category>" for t in a.tags)
        + f"<content:encoded><![CDATA[{_paragraphs(a.body)}]]></content:encoded></item>\n"
        for a in articles
    )
    path.write_text(
        '<?xml version="1.0"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>Bench</title><link>https://news.example/</link>\n{items}</channel></rss>\n"
    )
    return path


def write_atom(articles: list[Any], folder: Path) -> Path:
    path = folder / "feed.atom"
    entries = "".join(
        f'<entry><title>{html.escape(a.title)}</title><link href="{a.url}"/>'
        f"<id>urn:bench:{a.id}</id><published>{a.published_at.isoformat()}</published>"
        f"<updated>{a.published_at.isoformat()}</updated>"
        f'<category term="{a.category}"/>'
        + "".join(f'<category term="{t}"/>' for t in a.tags)
        + f'<content type="html">{html.escape(_paragraphs(a.body))}</content></entry>\n'
        for a in articles
    )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Bench</title><id>urn:bench</id><updated>2025-01-01T00:00:00Z</updated>\n"
        f"{entries}</feed>\n"
    )
    return path


def write_html(articles: list[Any], folder: Path) -> Path:
    root = folder / "public"
    for a in articles:
        page = root / a.category / a.id / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        ld = json.dumps(
            {
                "@context": "https://schema.org",
                "@type": "NewsArticle",
                "headline": a.title,
                "datePublished": a.published_at.isoformat(),
                "articleSection": a.category,
                "keywords": list(a.tags),
            }
        )
        tags = "".join(f'<meta property="article:tag" content="{t}">' for t in a.tags)
        page.write_text(
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(a.title)} | Bench News</title>"
            f'<link rel="canonical" href="{a.url}"><meta property="og:type" content="article">'
            f'<meta property="og:title" content="{html.escape(a.title)}">'
            f'<meta property="article:published_time" content="{a.published_at.isoformat()}">'
            f'<meta property="article:section" content="{a.category}">{tags}'
            f'<script type="application/ld+json">{ld}</script></head><body>'
            f'<header><nav><a href="/">Home</a> <a href="/world/">World</a> '
            f'<a href="/sport/">Sport</a></nav></header><main><article>'
            f"<h1>{html.escape(a.title)}</h1>{_paragraphs(a.body)}</article>"
            f'<aside class="related"><h3>Related</h3><ul><li><a href="/x/">Another story '
            f'headline here</a></li><li><a href="/y/">And one more headline</a></li></ul>'
            f"</aside></main><footer><p>Copyright Bench News. All rights reserved.</p>"
            f"</footer></body></html>\n"
        )
    return root


WRITERS = {
    "jsonl": write_jsonl,
    "wxr": write_wxr,
    "rss": write_rss,
    "atom": write_atom,
    "html": write_html,
}


def read_rates(n: int, html_n: int, repeat: int) -> list[dict[str, Any]]:
    from recommender.sources import read_inputs

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        articles = corpus(n)
        for name, writer in WRITERS.items():
            count = html_n if name == "html" else n
            target = writer(articles[:count], Path(tmp))
            size = sum(
                p.stat().st_size for p in ([target] if target.is_file() else target.rglob("*.html"))
            )
            best = float("inf")
            for _ in range(repeat):
                started = time.perf_counter()
                loaded = read_inputs([target])
                best = min(best, time.perf_counter() - started)
            assert len(loaded.articles) == count, (name, len(loaded.articles))
            rows.append(
                {
                    "format": name,
                    "articles": count,
                    "mb": round(size / 2**20, 2),
                    "seconds": round(best, 4),
                    "articles_per_s": round(count / best, 1),
                }
            )
            print(f"  {name:>5}: {count} articles in {best:.3f} s", flush=True)
    jsonl = rows[0]["articles_per_s"]
    for row in rows:
        row["vs_jsonl"] = round(row["articles_per_s"] / jsonl, 4)
    return rows


# ---------------------------------------------------------------------------- publish latency
def build_index(n: int, path: Path) -> None:
    from common import PrecomputedEncoder
    from query import synthetic_corpus

    from recommender.encoder import resolve_model
    from recommender.engine import Engine
    from recommender.text import article_text

    articles, vectors = synthetic_corpus(n)
    encoder = PrecomputedEncoder(
        {article_text(a): v for a, v in zip(articles, vectors, strict=True)}
    )
    encoder.name = resolve_model(None)[0]  # the packaged model's name: the server embeds with it
    Engine.build(articles, path, encoder=encoder, cache=False)


def _call(url: str, body: Any = None, method: str = "GET") -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {TOKEN}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def new_article(i: int) -> dict[str, Any]:
    return {
        "title": f"Port workers vote on a new contract, round {i}",
        "body": "Dock workers at the container terminal voted on the pay offer after weeks of "
        f"talks with the operators; the union will announce the result of ballot {i} tonight.",
        "published_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "category": "business",
        "tags": ["port", "labour"],
    }


def publish_latency(index: Path, work: Path, publishes: int) -> dict[str, Any]:
    port = _free_port()
    env = {**os.environ, "RECOMMENDER_WRITE_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    log = (work / "serve.log").open("w")
    server = subprocess.Popen(
        [*PYTHON, "serve", "--index", str(index), "--port", str(port), "--no-access-log"],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base)
        assert _call(f"{base}/articles/warm-up", new_article(0), "PUT")[0] == 200  # model loaded
        _wait_refreshed(base)
        reader = _Reader(f"{base}/related/syn-000001?k=5")
        reader.start()
        puts, visible, refreshed, timings = [], [], [], []
        for i in range(1, publishes + 1):
            started = time.perf_counter()
            status, body = _call(f"{base}/articles/published-{i}", new_article(i), "PUT")
            puts.append(time.perf_counter() - started)
            assert status == 200, body
            answer = json.loads(body)
            timings.append({**answer["timings"], "seconds": answer["seconds"]})
            while _call(f"{base}/related/published-{i}?k=5")[0] != 200:
                pass
            visible.append(time.perf_counter() - started)
            refreshed.append(_wait_refreshed(base) - started)
        reader.stop.set()
        reader.join(10)
    finally:
        server.terminate()
        server.wait(15)
        log.close()
    stages = {k: statistics.median(t.get(k, 0.0) for t in timings) for k in timings[0]}
    return {
        "put_p50_s": statistics.median(puts),
        "put_max_s": max(puts),
        "visible_p50_s": statistics.median(visible),
        "visible_max_s": max(visible),
        "refreshed_p50_s": statistics.median(refreshed),
        "refreshed_max_s": max(refreshed),
        "server_stages_p50_s": stages,
        "reads_ok": reader.ok,
        "reads_failed": len(reader.failed),
    }


def cli_upsert(index: Path, work: Path, repeat: int) -> dict[str, Any]:
    times = []
    for i in range(repeat):
        path = work / f"one-{i}.jsonl"
        path.write_text(json.dumps({"id": f"cli-{i}", **new_article(100 + i)}) + "\n")
        started = time.perf_counter()
        done = subprocess.run(
            [*PYTHON, "upsert", str(path), "--index", str(index), "--json"],
            cwd=work,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=600,
        )
        times.append(time.perf_counter() - started)
        assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    return {
        "wall_p50_s": statistics.median(times),
        "wall_min_s": min(times),
        "in_process_s": report["seconds"],
        "timings": report.get("timings"),
    }


class _Reader(threading.Thread):
    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.ok, self.failed = url, 0, []  # type: ignore[var-annotated]
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                status = _call(self.url)[0]
            except OSError as exc:
                self.failed.append(repr(exc))
                continue
            if status == 200:
                self.ok += 1
            else:
                self.failed.append(status)


def _wait_refreshed(base: str, timeout: float = 120) -> float:
    """When the background refresh has ranked the pending lists (``/metrics``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "\nrecommender_lists_pending 0.0" in _call(f"{base}/metrics")[1].decode():
            return time.perf_counter()
        time.sleep(0.02)
    raise RuntimeError("the pending lists were not refreshed")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _call(f"{base}/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not start")


# ---------------------------------------------------------------------------- report
def fragment(rates: list[dict[str, Any]], api: dict[str, Any], cli: dict[str, Any], n: int) -> str:
    rows = [
        [r["format"], r["articles"], fmt(r["mb"], 2), fmt(r["seconds"], 3),
         fmt(r["articles_per_s"], 0), fmt(r["vs_jsonl"], 3)]
        for r in rates
    ]  # fmt: skip
    stages = ", ".join(f"{k} {v:.3f}" for k, v in api["server_stages_p50_s"].items())
    ratio = cli["wall_p50_s"] / api["visible_p50_s"]
    return f"""
**Reading** (parse, validate, normalize; no embedding), best of the repeats, same articles:

{md_table(["format", "articles", "MB", "seconds", "articles/s", "vs JSONL"], rows)}

**Publish to visible**, one new article into a {n:,}-article index (synthetic vectors, the real
all-MiniLM-L6-v2 embeds the new article), `recommender serve` on 127.0.0.1:

{
        md_table(
            ["path", "p50 s", "max s"],
            [
                [
                    "API: `PUT /articles/{id}` answered",
                    fmt(api["put_p50_s"]),
                    fmt(api["put_max_s"]),
                ],
                [
                    "API: PUT sent to `GET /related/{id}` = 200",
                    fmt(api["visible_p50_s"]),
                    fmt(api["visible_max_s"]),
                ],
                [
                    "API: PUT sent to lists refreshed (`recommender_lists_pending` 0)",
                    fmt(api["refreshed_p50_s"]),
                    fmt(api["refreshed_max_s"]),
                ],
                ["CLI: `recommender upsert one.jsonl` process", fmt(cli["wall_p50_s"]), "n/a"],
            ],
        )
    }

Server-side stages of a PUT (median, seconds): {stages}. A PUT stores the read-more lists it
can change as pending (answered live, the same answers) and a background thread ranks them
into the next version; each publish here waits for that refresh before the next one.
The CLI process spent {cli["in_process_s"]:.2f} s in `Engine.upsert`, of which
{cli["timings"].get("embed_s", 0):.2f} s `embed_s`: loading the model (on first use) and
embedding one text; the other {cli["wall_p50_s"] - cli["in_process_s"]:.1f} s of its wall time
are process start-up and imports, paid again by every call. Publishing through the API is **{
        ratio:.1f}x faster** than an `upsert` process, and a
server only sees the CLI's version after its next hot reload (up to `reload_interval`, 1 s).
Reads during the API writes: {api["reads_ok"]} answered, {api["reads_failed"]} failed.
"""


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000, help="Articles per feed format.")
    parser.add_argument("--html-articles", type=int, default=500, help="HTML pages.")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--index-size", type=int, default=10_000)
    parser.add_argument("--publishes", type=int, default=10)
    parser.add_argument("--cli-upserts", type=int, default=3)
    args = parser.parse_args(argv)
    info = machine()
    print("machine:", info, flush=True)
    started = time.perf_counter()
    rates = read_rates(args.articles, args.html_articles, args.repeat)
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        work = Path(tmp)
        index = work / "indexes" / "syn"
        build_index(args.index_size, index)
        print("  index built", flush=True)
        api = publish_latency(index, work, args.publishes)
        print(f"  api: {api}", flush=True)
        cli = cli_upsert(index, work, args.cli_upserts)
        print(f"  cli: {cli}", flush=True)
    figures = {
        "read_rates": rates,
        "publish_api": api,
        "cli_upsert": cli,
        "index_size": args.index_size,
        "seconds": round(time.perf_counter() - started, 1),
    }
    line = record("ingest", info, figures)
    write_fragment(
        "ingest",
        "Ingest: publisher formats and the publish API",
        fragment(rates, api, cli, args.index_size),
        info,
        line,
    )
    finish()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
