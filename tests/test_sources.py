"""Readers for publishers' formats (WXR, RSS/Atom, HTML pages and sitemaps), on fixtures written
for these tests in the shapes of real exports, feeds and built sites (tests/fixtures/ingest)."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender.articles import Article
from recommender.engine import Engine
from recommender.errors import InputError, MissingExtraError
from recommender.loaders import load_articles
from recommender.sources import read_inputs
from recommender.sources.detect import sniff

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
WXR = FIXTURES / "harbour.wordpress.xml"
RSS = FIXTURES / "valley.rss.xml"
ATOM = FIXTURES / "valley.atom.xml"
SITE = FIXTURES / "site"
UTC = dt.timezone.utc
HOSTILE = ("<script", "script>", "alert(", "javascript:", "onerror", "onclick", "evil.example")


def by_id(articles: list[Article]) -> dict[str, Article]:
    return {a.id: a for a in articles}


def assert_clean(article: Article) -> None:
    """Nothing of the hostile markup survives, in any field, metadata included."""
    blob = json.dumps(article.to_dict(), ensure_ascii=False)
    for bad in HOSTILE:
        assert bad not in blob, (bad, blob)


# ---------------------------------------------------------------------------- WordPress
def test_wxr_reads_published_posts_only_and_counts_the_rest() -> None:
    loaded = read_inputs([WXR])
    assert sorted(a.id for a in loaded.articles) == ["101", "102", "103"]
    assert loaded.skipped == {
        str(WXR): {
            "attachment": 1,
            "draft post": 1,
            "nav_menu_item": 1,
            "page (index them with --include-pages)": 1,
            "password-protected post": 1,
            "pending post": 1,
            "private post": 1,
            "revision": 1,
            "scheduled post": 1,
            "trash post": 1,
            "untitled post": 1,
        }
    }


def test_wxr_fields() -> None:
    posts = by_id(load_articles([WXR]))
    ferry = posts["101"]
    assert ferry.title == "Ferry timetable cut to two crossings a day"
    assert ferry.url == "https://gazette.example/2025/06/02/ferry-timetable-cut/"
    assert ferry.published_at == dt.datetime(2025, 6, 2, 7, 30, tzinfo=UTC)  # the GMT date
    assert ferry.category == "Local"  # Yoast's primary category, not the first listed
    assert ferry.metadata["categories"] == ["Environment", "Local"]
    assert ferry.tags == ("ferry", "transport")
    assert ferry.language == "en"
    assert ferry.metadata["author"] == "Marta Reyes"
    assert ferry.metadata["excerpt"].startswith("Only two crossings a day")
    assert ferry.metadata["slug"] == "ferry-timetable-cut"
    assert ferry.metadata["guid"] == "https://gazette.example/?p=101"
    body = ferry.body
    assert body.startswith("The island ferry will sail only twice a day from July")
    assert "hull inspection" in body and "The older ferry in dry dock" in body
    for markup in ("<p>", "wp:paragraph", "[caption", "[/caption]", "Comments are not"):
        assert markup not in body
    back = posts["102"]
    assert back.published_at == dt.datetime(2025, 6, 9, 6, tzinfo=UTC)  # zero GMT: pubDate
    assert back.metadata["taxonomies"] == {"post_format": ["Aside"]}
    assert posts["103"].title == "Harbour & marina: storm damage \u201cworse than 1990\u201d"


def test_wxr_hostile_html_never_reaches_the_article() -> None:
    storm = by_id(load_articles([WXR]))["103"]
    assert storm.body == (
        "Wind tore pontoons from the marina overnight.\n"
        "Photos of the storm damage show boats piled on the slipway."
    )
    assert_clean(storm)


def test_wxr_pages_by_flag() -> None:
    posts = by_id(load_articles([WXR], include_pages=True))
    assert sorted(posts) == ["101", "102", "103", "2"]
    assert posts["2"].metadata["post_type"] == "page"
    assert posts["2"].url == "https://gazette.example/about/"


def test_wxr_errors_name_file_line_and_field(tmp_path: Path) -> None:
    text = WXR.read_text()
    bad_date = tmp_path / "bad-date.xml"
    bad_date.write_text(text.replace("2025-06-05 18:00:00", "yesterday evening", 1))
    with pytest.raises(InputError) as info:
        load_articles([bad_date])
    line = text[: text.index("Harbour &amp; marina")].count("\n")  # the <item> line
    assert str(info.value).startswith(f"{bad_date}:{line}: field 'published_at': cannot parse")
    broken = tmp_path / "broken.xml"
    broken.write_text(text.replace("</item>", "</itm>", 2))
    with pytest.raises(InputError, match=rf"{broken}:\d+: malformed XML"):
        load_articles([broken])


BOMB = """<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY secret SYSTEM "file:///etc/passwd">
]>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel>
<item><title>&e;</title><link>https://x.example/a</link><description>&secret;</description>
<wp:post_id>1</wp:post_id><wp:status>publish</wp:status><wp:post_type>post</wp:post_type></item>
</channel></rss>
"""


@pytest.mark.parametrize("name", ["bomb.wordpress.xml", "bomb.rss", "sitemap.xml"])
def test_entity_expansion_and_external_entities_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    text = (
        BOMB
        if name != "sitemap.xml"
        else BOMB.replace("<rss", "<urlset").replace("rss>", "urlset>")
    )
    path.write_text(text)
    with pytest.raises(InputError, match=rf"{path}:3: the XML declares entities"):
        load_articles([path])


def test_wxr_is_streamed(tmp_path: Path) -> None:
    """A ~60 MB export is read with memory far below its size (items are freed as read)."""
    item = WXR.read_text().split("<item>")[2].split("</item>")[0]
    item = item.replace("<wp:post_id>102</wp:post_id>", "<wp:post_id>{n}</wp:post_id>")
    item = item.replace("<p>The repaired", "<p>" + "Padding words for a long story. " * 40)
    head = WXR.read_text().split("<item>")[0]
    big = tmp_path / "big.xml"
    with big.open("w") as out:
        out.write(head)
        for n in range(40_000):
            out.write("<item>" + item.replace("{n}", str(n)) + "</item>\n")
        out.write("</channel></rss>\n")
    size_mb = big.stat().st_size / 2**20
    assert size_mb > 50
    script = (
        "import resource, sys\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "from recommender.sources.wxr import read_wxr\n"
        "from recommender.sources.common import Input, Skips\n"
        "from pathlib import Path\n"
        "n = sum(1 for _ in read_wxr(Input(sys.argv[1], path=Path(sys.argv[1])), Skips()))\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(n, (after - before) / 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(big)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    count, grown_mb = done.stdout.split()
    assert int(count) == 40_000
    assert float(grown_mb) < size_mb / 4, (grown_mb, size_mb)


# ---------------------------------------------------------------------------- feeds
def test_rss_feed() -> None:
    loaded = read_inputs([RSS])
    items = by_id(loaded.articles)
    assert sorted(items) == [
        "courier-8841",
        "courier-8843",
        "https://courier.example/news/2025/06/farmers-count-cost",  # no guid: the link
    ]
    river = items["courier-8841"]
    assert river.url == "https://courier.example/news/2025/06/river-levels-fall"  # resolved
    assert river.published_at == dt.datetime(2025, 6, 10, 12, 20, tzinfo=UTC)
    assert (river.category, river.tags) == ("Weather", ("Floods",))
    assert river.body.startswith("The river dropped below its warning mark")  # content:encoded
    assert river.metadata["summary"] == "Flood warnings lifted along the lower valley."
    assert river.metadata["author"] == "Priya Natarajan"
    assert river.language == "en"
    farmers = items["https://courier.example/news/2025/06/farmers-count-cost"]
    # WordPress's "Read More..." and "The post ... appeared first on ..." are not the story
    assert (
        farmers.body == "Drained fields show the flood damage to spring crops along the river ..."
    )
    mayor = items["courier-8843"]
    assert mayor.url is None and mayor.title == "Mayor's statement on the bridge"
    assert_clean(mayor)
    assert loaded.skipped == {str(RSS): {"unsafe link removed": 1}}


def test_atom_feed() -> None:
    entries = by_id(load_articles([ATOM]))
    why = entries["tag:blog.courier.example,2025:post-17"]
    assert why.title == "Why the valley floods every June"
    assert why.url == "https://blog.courier.example/posts/why-the-valley-floods"  # xml:base
    assert why.published_at == dt.datetime(2025, 6, 9, 7, tzinfo=UTC)
    assert why.metadata["updated_at"] == "2025-06-10T12:00:00+00:00"
    assert (why.category, why.tags) == ("Science", ("rivers",))
    gauges = entries["tag:blog.courier.example,2025:post-18"]
    assert gauges.body == "Forty volunteer rain gauges now report every ten minutes."
    assert gauges.published_at == dt.datetime(2025, 6, 11, 9, 30, tzinfo=UTC)  # updated only


def test_duplicate_ids_across_inputs_name_both_places(tmp_path: Path) -> None:
    copy = tmp_path / "again.xml"
    shutil.copy(RSS, copy)
    with pytest.raises(InputError) as info:
        load_articles([RSS, copy])
    assert str(info.value).startswith(f"{copy}[entry 1]: field 'id': duplicate id 'courier-8841'")
    assert f"first seen at {RSS}[entry 1]" in str(info.value)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, directory=str(FIXTURES), **kwargs)  # type: ignore[arg-type]

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fixture_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_feed_url_fetched_and_links_resolved_against_it(fixture_server: str) -> None:
    url = f"{fixture_server}/valley.atom.xml"
    entries = by_id(load_articles([url]))
    assert len(entries) == 2
    # xml:base in the feed wins over the URL it came from
    assert entries["tag:blog.courier.example,2025:post-17"].url.startswith("https://blog.")
    with pytest.raises(InputError, match=rf"^{fixture_server}/nope.xml: cannot fetch: HTTP 404"):
        load_articles([f"{fixture_server}/nope.xml"])


def test_unreachable_and_silent_urls_fail_clearly() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(InputError, match=rf"^http://127.0.0.1:{port}/feed: cannot fetch"):
        load_articles([f"http://127.0.0.1:{port}/feed"])
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/feed"
        with pytest.raises(
            InputError, match=r"cannot fetch \(unreachable or too slow, timeout 0.5 s\)"
        ):
            load_articles([url], timeout=0.5)


# ---------------------------------------------------------------------------- HTML pages
def test_html_folder_reads_articles_and_skips_lists() -> None:
    loaded = read_inputs([SITE])
    pages = by_id(loaded.articles)
    assert sorted(pages) == [
        "culture/harbour-festival",
        "world/bridge-vote",
        "world/ferry-strike",
        "world/port-deal",
    ]
    assert loaded.skipped == {
        str(SITE): {
            "not an article (og:type website)": 1,
            "pagination page": 1,
            "search page": 1,
            "tag, category or author list": 1,
        }
    }
    strike = pages["world/ferry-strike"]
    assert strike.url == "https://post.example/world/ferry-strike/"
    assert strike.published_at == dt.datetime(2025, 5, 20, 4, 45, tzinfo=UTC)
    assert (strike.category, strike.tags, strike.language) == ("World", ("ferry", "strike"), "en")
    assert strike.metadata["author"] == "Lena Whitcombe"
    assert strike.body.startswith("Crews on the island ferries walked out at dawn")
    assert strike.body.endswith("cannot reach them, the council said.")
    for chrome in ("Related stories", "Lantern parade", "Reader comment", "Copyright", "Search"):
        assert chrome not in strike.body  # navigation, related box, comments, footer
    deal = pages["world/port-deal"]  # JSON-LD in a Yoast-style @graph, nothing else
    assert deal.title == "Port operators sign a ten year deal with the shipping line"
    assert (deal.category, deal.tags) == ("Business", ("port", "shipping", "jobs"))
    assert deal.published_at == dt.datetime(2025, 5, 28, 10, tzinfo=UTC)
    festival = pages["culture/harbour-festival"]  # no metadata at all: long text decides
    assert festival.url == "/culture/harbour-festival/"
    assert festival.published_at is None


def test_html_hostile_page_is_clean() -> None:
    bridge = by_id(load_articles([SITE]))["world/bridge-vote"]
    assert bridge.title == "Council votes to repair the old bridge"
    assert bridge.url == "/world/bridge-vote/"  # the javascript: canonical is not used
    assert "pedestrians will still be able to cross" in bridge.body
    assert "Enable scripts" not in bridge.body
    assert_clean(bridge)


def test_sitemap_lists_the_pages_to_read() -> None:
    loaded = read_inputs([SITE / "sitemap.xml"])
    assert sorted(a.id for a in loaded.articles) == [
        "culture/harbour-festival",
        "world/ferry-strike",
        "world/port-deal",
    ]
    assert by_id(loaded.articles)["culture/harbour-festival"].url == (
        "https://post.example/culture/harbour-festival/"  # the sitemap's URL
    )
    assert sum(loaded.skipped[str(SITE / "sitemap.xml")].values()) == 3


def test_sitemap_page_missing_names_the_line(tmp_path: Path) -> None:
    sitemap = tmp_path / "sitemap.xml"
    sitemap.write_text(
        '<?xml version="1.0"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        "<url><loc>https://post.example/gone/</loc></url>\n</urlset>\n"
    )
    with pytest.raises(InputError, match=rf"^{sitemap}:3: field 'loc': page https://post"):
        load_articles([sitemap])


# ---------------------------------------------------------------------------- detection
def test_format_detected_from_content_not_name(tmp_path: Path) -> None:
    for source, name in ((WXR, "export.txt"), (RSS, "feed"), (ATOM, "latest.xml")):
        shutil.copy(source, tmp_path / name)
    page = tmp_path / "page.bin"
    shutil.copy(SITE / "world" / "ferry-strike" / "index.html", page)
    assert len(load_articles([tmp_path / "export.txt"])) == 3
    assert len(load_articles([tmp_path / "feed"])) == 3
    assert len(load_articles([tmp_path / "latest.xml"])) == 2
    assert load_articles([page])[0].id == "world/ferry-strike"
    assert sniff(b'\xef\xbb\xbf  {"id": 1}', ".data") == "jsonl"
    assert sniff(b"<?xml version='1.0'?><urlset>", "") == "sitemap"


def test_format_override(tmp_path: Path) -> None:
    odd = tmp_path / "articles.data"
    odd.write_text('{"id": "a", "title": "A story"}\n')
    with pytest.raises(InputError, match="unknown input type"):
        load_articles([_plain(tmp_path)])
    assert load_articles([odd], format="jsonl")[0].id == "a"
    with pytest.raises(InputError, match=r"field 'format': unknown format 'yaml'"):
        load_articles([odd], format="yaml")
    with pytest.raises(InputError, match="not a readable RSS or Atom feed"):
        load_articles([odd], format="rss")


def _plain(folder: Path) -> Path:
    path = folder / "notes.data"
    path.write_text("just some words\n")
    return path


def test_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "feedparser", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'recommender\[ingest\]'"):
        load_articles([RSS])


# ---------------------------------------------------------------------------- into an index
def test_every_source_builds_one_index_and_answers_stay_clean(
    tmp_path: Path, fake_encoder: object
) -> None:
    articles = load_articles([WXR, RSS, ATOM, SITE])
    assert len(articles) == 3 + 3 + 2 + 4
    index = tmp_path / "indexes" / "mixed"
    Engine.build(articles, index, encoder=fake_encoder, cache=False)  # type: ignore[arg-type]
    engine = Engine.load(index, encoder=fake_encoder)  # type: ignore[arg-type]
    try:
        for article in articles:
            for result in engine.related(article.id, k=5):
                blob = json.dumps(result.to_dict())
                assert not any(bad in blob for bad in HOSTILE), blob
            assert_clean(engine.article(article.id))
    finally:
        engine.close()


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JavaScript:x", "data:text/html,x"])
def test_unsafe_url_is_never_a_link(tmp_path: Path, url: str) -> None:
    """One rule for every input (recommender/urls.py, issue 12 item 2): kept inert, not a link."""
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"id": "a", "title": "A", "url": url}) + "\n")
    (article,) = load_articles([path])
    assert article.url is None and article.metadata["url_unsafe"] == url.strip()
    path.write_text(json.dumps({"id": "a", "title": "A", "url": "/world/a"}) + "\n")
    assert load_articles([path])[0].url == "/world/a"


def test_site_served_from_a_sub_folder(tmp_path: Path) -> None:
    """A sitemap of a site under a base path (https://host/news/...) finds the built files, and
    pages get the same ids as from the folder (their path in the site, as Markdown ids)."""
    site = tmp_path / "public"
    shutil.copytree(SITE, site)
    text = (site / "sitemap.xml").read_text()
    (site / "sitemap.xml").write_text(text.replace("post.example/", "post.example/news/"))
    from_sitemap = read_inputs([site / "sitemap.xml"]).articles
    assert sorted(a.id for a in from_sitemap) == [
        "culture/harbour-festival",
        "world/ferry-strike",
        "world/port-deal",
    ]
    from_folder = by_id(load_articles([site]))
    for article in from_sitemap:
        assert from_folder[article.id].title == article.title


def test_wordpress_feed_and_export_give_one_id_per_post(
    tmp_path: Path, fake_encoder: object
) -> None:
    """A site built from its WXR export, then kept fresh from its feed: the feed's
    ``https://site/?p=101`` guid is post 101 of the export, not a second article."""
    feed = FIXTURES / "harbour.feed.xml"
    items = by_id(load_articles([feed]))
    assert sorted(items) == ["101", "102", "https://gazette.example/2025/06/08/lighthouse-open/"]
    assert items["101"].metadata["guid"] == "https://gazette.example/?p=101"
    assert items["102"].body.endswith("would sail the early crossing.")  # boilerplate gone
    index = tmp_path / "index"
    Engine.build(load_articles([WXR]), index, encoder=fake_encoder, cache=False)  # type: ignore[arg-type]
    before = len(Engine.load(index, encoder=fake_encoder))  # type: ignore[arg-type]
    Engine.upsert(list(items.values()), index, encoder=fake_encoder, cache=False)  # type: ignore[arg-type]
    engine = Engine.load(index, encoder=fake_encoder)  # type: ignore[arg-type]
    assert len(engine) == before + 1  # the lighthouse post is new; 101 and 102 are updated
    assert "would sail the early crossing" in engine.article("102").body


def test_a_non_wordpress_feed_keeps_its_guids(tmp_path: Path) -> None:
    """Only WordPress's own feeds say that ``?p=N`` is a post ID."""
    text = (FIXTURES / "harbour.feed.xml").read_text()
    other = tmp_path / "other.xml"
    other.write_text(text.replace("https://wordpress.org/?v=6.5.2", "Ghost 5.8"))
    assert "https://gazette.example/?p=101" in by_id(load_articles([other]))
