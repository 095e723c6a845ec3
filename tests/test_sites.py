"""Hugo and Jekyll sites read as their generators read them (no generator run here; the real
``hugo`` and ``jekyll`` check the same fixtures in test_sites_generators.py)."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recommender import engine as engine_module
from recommender.cli import app
from recommender.errors import InputError
from recommender.indexing import writers as indexing_module
from recommender.intake import RejectedInputError, accept, gather
from recommender.sites import default_index, detect, read_site
from recommender.sites import frontmatter as fm
from recommender.sites.hugo import urlize
from recommender.sites.jekyll import STYLES, page_path, slugify
from recommender.sites.templates import HUGO_PATH, JEKYLL_PATH, install

from .conftest import FakeEncoder

FIXTURES = Path(__file__).parent / "fixtures" / "sites"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
runner = CliRunner()


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "LazyEncoder", lambda model=None: FakeEncoder())
    monkeypatch.setattr(indexing_module, "LazyEncoder", lambda model=None: FakeEncoder())


def copy_site(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


# ---------------------------------------------------------------------- detection
@pytest.mark.parametrize(
    ("name", "text", "generator"),
    [
        ("hugo.toml", 'baseURL = "https://x.org/"', "hugo"),
        ("hugo.yaml", "baseURL: https://x.org/", "hugo"),
        ("hugo.json", '{"baseURL": "https://x.org/"}', "hugo"),
        ("config.toml", 'baseURL = "https://x.org/"', "hugo"),
        ("config.yaml", "baseURL: https://x.org/", "hugo"),
        ("config/_default/hugo.toml", 'baseURL = "https://x.org/"', "hugo"),
        ("_config.yml", "baseurl: /blog", "jekyll"),
    ],
)
def test_detect(tmp_path: Path, name: str, text: str, generator: str) -> None:
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text)
    site = detect(tmp_path)
    assert site is not None and site.generator == generator


def test_plain_folder_is_no_site_and_still_builds(tmp_path: Path) -> None:
    (tmp_path / "one.md").write_text("---\nTitle: One\n---\nbody\n")
    (tmp_path / "two.md").write_text("---\ntitle: Two\n---\nbody\n")
    assert detect(tmp_path) is None
    intake = gather([tmp_path])
    assert sorted(a.id for a in intake.articles) == ["one", "two"] and intake.site is None


def test_hugo_config_dir_merges_params_and_permalinks(tmp_path: Path) -> None:
    folder = tmp_path / "config" / "_default"
    folder.mkdir(parents=True)
    (folder / "hugo.toml").write_text('baseURL = "https://x.org/b/"')
    (folder / "permalinks.toml").write_text('posts = "/:year/:slug/"')
    (folder / "params.toml").write_text('mainSections = ["posts"]')
    site = detect(tmp_path)
    assert site is not None
    assert site.config["permalinks"] == {"posts": "/:year/:slug/"}
    assert site.config["params"] == {"mainsections": ["posts"]}


# ---------------------------------------------------------------------- front matter
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01", "2024-05-01T00:00:00+00:00"),
        ("2024-05-01 12:34:56 +0200", "2024-05-01T12:34:56+02:00"),
        ("2024-05-01T12:34:56Z", "2024-05-01T12:34:56+00:00"),
        ("2024-05-01T12:34:56-05:00", "2024-05-01T12:34:56-05:00"),
        ("2024-05-01 12:34", "2024-05-01T12:34:00+00:00"),
        ("01 May 2024", "2024-05-01T00:00:00+00:00"),
        ("Wed, 01 May 2024 12:34:56 +0200", "2024-05-01T12:34:56+02:00"),
        (dt.date(2024, 5, 1), "2024-05-01T00:00:00+00:00"),
    ],
)
def test_date_forms(value: object, expected: str) -> None:
    parsed = fm.parse_date(value)
    assert parsed is not None and parsed.isoformat() == expected


def test_bad_date_is_an_error() -> None:
    with pytest.raises(ValueError, match="as a date"):
        fm.parse_date("next tuesday-ish")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["a", "b"], ["a", "b"]),
        ("space science", ["space", "science"]),
        ("astronomy, comets", ["astronomy", "comets"]),
        ("solo", ["solo"]),
        (None, []),
    ],
)
def test_terms(value: object, expected: list[str]) -> None:
    assert fm.terms(value) == expected


@pytest.mark.parametrize(
    "text",
    [
        "---\nTitle: 1984\nTAGS: [a]\n---\nbody\n",
        '+++\nTitle = 1984\nTAGS = ["a"]\n+++\nbody\n',
        '{\n  "Title": 1984,\n  "TAGS": ["a"]\n}\nbody\n',
    ],
)
def test_front_matter_formats_and_case(text: str) -> None:
    meta, body, _ = fm.split(text, "x.md")
    assert fm.text_value(meta["title"]) == "1984" and meta["tags"] == ["a"]
    assert body.strip() == "body"


def test_front_matter_errors_name_the_line() -> None:
    with pytest.raises(InputError) as info:
        fm.split("---\ntitle: ok\ntags: [unclosed\n---\n", "x.md")
    assert info.value.source == "x.md" and info.value.line and info.value.line >= 3


# ---------------------------------------------------------------------- Hugo
HUGO_URLS = {
    "notes/Winter Riding.md": "/news/notes/winter-riding/",
    "notes/2024-07-04-summer-ride.md": "/news/notes/2024-07-04-summer-ride/",
    "notes/chain-care.md": "/news/notes/chain-care/",
    "notes/tyre-pressure/index.md": "/news/cycling/tyre-pressure/",
    "posts/1984.md": "/news/2024/05/1984/",
    "posts/comet-watch/index.md": "/news/2024/03/watching-the-comet-from-a-dark-field/",
    "posts/meteor-shower.md": "/news/2024/08/counting-meteors-in-the-august-shower/",
    "posts/rye-bread.md": "/news/2024/04/rye-bread-in-a-cold-kitchen/",
    "posts/sourdough-starter.md": "/news/2024/04/keeping-a-sourdough-starter-alive/",
    "posts/telescope-primer.md": "/news/2024/03/first-telescope/",
}


def test_hugo_fixture_reads_as_hugo_publishes() -> None:
    site = detect(FIXTURES / "hugo-blog")
    assert site is not None
    read = read_site(site, NOW)
    assert {a.id: a.url for a in read.articles} == HUGO_URLS  # hugo agrees: generator tests
    assert read.skipped_counts() == {
        "draft": 1,
        "expired": 1,
        "future": 1,
        "not a post": 1,  # about.md, a page outside the main sections
        "not rendered": 1,
    }
    by_id = {a.id: a for a in read.articles}
    assert by_id["posts/1984.md"].title == "1984"
    assert by_id["posts/meteor-shower.md"].title == "Counting meteors in the August shower"
    assert by_id["posts/meteor-shower.md"].tags == ("astronomy", "meteors")
    assert by_id["posts/meteor-shower.md"].published_at == dt.datetime(
        2024, 8, 12, 19, 30, tzinfo=dt.timezone.utc
    )
    assert by_id["posts/comet-watch/index.md"].category == "Sky"  # not the bundle's name
    assert by_id["notes/chain-care.md"].category == "notes"  # the section
    assert by_id["notes/chain-care.md"].tags == ("cycling", "maintenance")


def test_hugo_build_flags_publish_more(tmp_path: Path) -> None:
    root = copy_site("hugo-blog", tmp_path)
    config = root / "hugo.toml"
    config.write_text(
        config.read_text().replace(
            "[permalinks.page]",
            "buildDrafts = true\nbuildFuture = true\nbuildExpired = true\n[permalinks.page]",
        )
    )
    read = read_site(detect(root), NOW)  # type: ignore[arg-type]
    assert read.skipped_counts() == {"not a post": 1, "not rendered": 1}
    assert {"posts/draft-baguette.md", "posts/future-comet.md", "posts/spring-offer.md"} <= {
        a.id for a in read.articles
    }


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Hello World", "hello-world"),
        ("Rye & <Bread>!", "rye-bread"),
        ("Ünïcode Title", "ünïcode-title"),
    ],
)
def test_urlize(text: str, slug: str) -> None:
    assert urlize(text) == slug


# ---------------------------------------------------------------------- Jekyll
JEKYLL_URLS = {
    "_guides/chain-care.md": "/blog/guides/chain-care/",
    "_guides/tyre-pressure.md": "/blog/guides/tyre-pressure/",
    "_posts/2024-03-02-comet-watch.md": "/blog/2024/03/02/comet-watch/",
    "_posts/2024-03-10-first-telescope.md": "/blog/2024/03/10/first-telescope/",
    "_posts/2024-04-01-sourdough-starter.md": "/blog/baking/2024/04/01/sourdough-starter/",
    "_posts/2024-04-15-rye-bread.md": "/blog/bread/rye-bread.html",
    "_posts/2024-05-01-old-racer.md": "/blog/cycling/2024/05/01/old-racer/",
    "_posts/2024-06-25-puncture.md": "/blog/2024/06/25/Roadside-Puncture-Fix/",
    "_posts/bike-notes/2024-06-20-saddle-height.md": "/blog/2024/06/20/saddle-height/",
    "space/_posts/2024-08-12-meteor-shower.md": "/blog/space/2024/08/12/meteor-shower/",
}


def test_jekyll_fixture_reads_as_jekyll_publishes() -> None:
    site = detect(FIXTURES / "jekyll-blog")
    assert site is not None
    read = read_site(site, NOW)
    assert {a.id: a.url for a in read.articles} == JEKYLL_URLS
    assert read.skipped_counts() == {"future": 1, "not a post": 1, "published: false": 1}
    by_id = {a.id: a for a in read.articles}
    comet = by_id["_posts/2024-03-02-comet-watch.md"]
    # `Title:` and `Tags:` are read without case; Jekyll itself ignores `Categories:` in URLs.
    assert comet.title == "Watching the comet from a dark field"
    assert comet.tags == ("astronomy", "comets")
    assert by_id["_posts/2024-05-01-old-racer.md"].title == "1984"
    telescope = by_id["_posts/2024-03-10-first-telescope.md"]
    assert telescope.published_at is not None
    assert telescope.published_at.isoformat() == "2024-03-10T12:34:56+02:00"


def test_jekyll_future_true_publishes_future_posts(tmp_path: Path) -> None:
    root = copy_site("jekyll-blog", tmp_path)
    with (root / "_config.yml").open("a") as handle:
        handle.write("future: true\n")
    read = read_site(detect(root), NOW)  # type: ignore[arg-type]
    assert "_posts/2099-01-01-future-comet.md" in {a.id for a in read.articles}


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("date", "/world/2024/05/01/My-Post.html"),
        ("pretty", "/world/2024/05/01/My-Post/"),
        ("ordinal", "/world/2024/122/My-Post.html"),
        ("weekdate", "/world/2024/W18/Wed/My-Post.html"),
        ("none", "/world/My-Post.html"),
    ],
)
def test_jekyll_permalink_styles(style: str, expected: str) -> None:
    values = {
        "categories": "world",
        "year": "2024",
        "month": "05",
        "day": "01",
        "y_day": "122",
        "week": "18",
        "short_day": "Wed",
        "title": slugify("My Post", pretty=True, cased=True),
        "output_ext": ".html",
    }
    assert page_path(STYLES[style], values) == expected


def test_jekyll_empty_categories_leave_no_double_slash() -> None:
    assert page_path(STYLES["pretty"], {"categories": "", "year": "2024", "month": "01",
                                        "day": "02", "title": "x"}) == "/2024/01/02/x/"  # fmt: skip


# ---------------------------------------------------------------------- errors, all at once
def bad_site(tmp_path: Path) -> Path:
    root = copy_site("hugo-blog", tmp_path)
    posts = root / "content" / "posts"
    (posts / "bad-yaml.md").write_text(
        "---\ntitle: Fine\ntags: [unclosed\ndate: 2024-01-01\n---\nx\n"
    )
    (posts / "bad-date.md").write_text("---\ntitle: Fine\ndate: not a date at all\n---\nx\n")
    (posts / "bad-toml.md").write_text('+++\ntitle = "Fine"\ndate = \n+++\nx\n')
    return root


def test_every_rejected_file_at_once(tmp_path: Path) -> None:
    root = bad_site(tmp_path)
    intake = gather([root], now=NOW)
    rejected = {Path(e.source or "").name: e for e in intake.rejected}
    assert sorted(rejected) == ["bad-date.md", "bad-toml.md", "bad-yaml.md"]
    assert rejected["bad-date.md"].field == "date" and rejected["bad-date.md"].line == 3
    assert rejected["bad-yaml.md"].line is not None and rejected["bad-yaml.md"].line >= 3
    with pytest.raises(RejectedInputError) as info:
        accept(intake)
    message = str(info.value)
    assert "3 inputs rejected" in message
    assert all(name in message for name in rejected)
    assert len(accept(intake, skip_invalid=True)) == len(HUGO_URLS)


def test_cli_build_rejects_all_and_leaves_index_untouched(tmp_path: Path) -> None:
    root = copy_site("hugo-blog", tmp_path)
    ok = runner.invoke(app, ["build", str(root)])
    assert ok.exit_code == 0, ok.output
    index = root / ".recommender" / "index"
    before = index.resolve()
    broken = bad_site(tmp_path / "again")
    shutil.rmtree(broken / ".recommender", ignore_errors=True)
    shutil.copytree(root / ".recommender", broken / ".recommender", symlinks=True)
    result = runner.invoke(app, ["build", str(broken)])
    assert result.exit_code == 1
    assert "3 inputs rejected" in result.output
    assert all(n in result.output for n in ("bad-yaml.md", "bad-date.md:3", "bad-toml.md"))
    assert (broken / ".recommender" / "index").resolve().name == before.name
    skipped = runner.invoke(app, ["build", str(broken), "--skip-invalid", "--json"])
    assert skipped.exit_code == 0, skipped.output
    facts = json.loads(skipped.stdout.strip().splitlines()[-1])
    assert facts["read"] == len(HUGO_URLS) and len(facts["site"]["rejected"]) == 3


def test_plain_inputs_report_every_bad_line(tmp_path: Path) -> None:
    data = tmp_path / "a.jsonl"
    data.write_text(
        '{"id": "1", "title": "ok"}\n{"id": "2"}\nnot json\n{"id": "1", "title": "x"}\n'
    )
    intake = gather([data])
    assert [(e.line, e.field) for e in intake.rejected] == [(2, "title"), (3, None), (None, "id")]


# ---------------------------------------------------------------------- index location, info
def test_site_index_found_from_the_site_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_site("jekyll-blog", tmp_path)
    assert runner.invoke(app, ["build", str(root)]).exit_code == 0
    monkeypatch.chdir(root)
    assert default_index() == Path(".recommender/index")
    info = runner.invoke(app, ["info", "--json"])
    assert info.exit_code == 0, info.output
    facts = json.loads(info.stdout)
    assert facts["article_count"] == len(JEKYLL_URLS)
    assert facts["site"]["generator"] == "jekyll"
    assert facts["site"]["skipped"] == {"future": 1, "not a post": 1, "published: false": 1}
    related = runner.invoke(app, ["related", "_posts/2024-04-01-sourdough-starter.md", "--json"])
    assert related.exit_code == 0, related.output
    assert json.loads(related.stdout)["results"]
    exported = runner.invoke(app, ["export", "--out", "."])
    assert exported.exit_code == 0, exported.output
    assert "{% include recommender/related.html %}" in exported.stdout
    assert (root / "_data" / "related.json").is_file() and (root / JEKYLL_PATH).is_file()


# ---------------------------------------------------------------------- templates
@pytest.mark.parametrize(("generator", "rel"), [("hugo", HUGO_PATH), ("jekyll", JEKYLL_PATH)])
def test_template_written_once_and_edits_kept(tmp_path: Path, generator: str, rel: Path) -> None:
    assert install(tmp_path, generator).status == "written"
    assert install(tmp_path, generator).status == "unchanged"
    target = tmp_path / rel
    target.write_text(target.read_text() + "<!-- mine -->\n")
    edited = target.read_bytes()
    assert install(tmp_path, generator).status == "kept"
    assert target.read_bytes() == edited


def test_template_we_wrote_is_updated(tmp_path: Path) -> None:
    install(tmp_path, "hugo")
    target = tmp_path / HUGO_PATH
    old = b"an older version we wrote\n"
    target.write_bytes(old)
    record = tmp_path / ".recommender" / "templates.json"
    import hashlib

    record.write_text(json.dumps({HUGO_PATH.as_posix(): hashlib.sha256(old).hexdigest()}))
    assert install(tmp_path, "hugo").status == "updated"
    assert b"recommender/related.html" in target.read_bytes()


def test_a_user_partial_is_never_replaced(tmp_path: Path) -> None:
    target = tmp_path / JEKYLL_PATH
    target.parent.mkdir(parents=True)
    target.write_text("my own include\n")
    assert install(tmp_path, "jekyll").status == "kept"
    assert target.read_text() == "my own include\n"


# ---------------------------------------------------------------------- Python 3.10
def test_every_toml_import_goes_through_the_backport_shim() -> None:
    package = Path(__file__).parent.parent / "recommender"
    direct = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "_toml.py" and re.search(r"^\s*import tomllib", path.read_text(), re.M)
    ]
    assert direct == []
    pyproject = (package.parent / "pyproject.toml").read_text()
    assert "tomli>=2; python_version < '3.11'" in pyproject


def test_upsert_and_remove_from_the_site_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_site("hugo-blog", tmp_path)
    assert runner.invoke(app, ["build", str(root)]).exit_code == 0
    post = root / "content" / "posts" / "1984.md"
    post.write_text(post.read_text() + "\nNew handlebar tape, too.\n")
    monkeypatch.chdir(root)
    result = runner.invoke(app, ["upsert", ".", "--json"])
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    assert facts["changed"] == 1 and facts["new"] == 0 and facts["index"] == ".recommender/index"
    removed = runner.invoke(app, ["remove", "posts/1984.md", "--json"])
    assert removed.exit_code == 0, removed.output
    assert json.loads(removed.stdout)["article_count"] == len(HUGO_URLS) - 1


def test_csv_reports_every_bad_row(tmp_path: Path) -> None:
    data = tmp_path / "a.csv"
    data.write_text(
        "id,title,published_at\n1,ok,2024-01-01\n2,,2024-01-01\n3,x,31/12/2024\n4,y,z,w\n"
    )
    intake = gather([data])
    assert [a.id for a in intake.articles] == ["1"]
    assert [(e.line, e.field) for e in intake.rejected] == [
        (3, "title"),
        (4, "published_at"),
        (5, None),
    ]


def test_skip_invalid_plain_inputs_are_listed_by_info(tmp_path: Path) -> None:
    data = tmp_path / "a.jsonl"
    data.write_text('{"id": "1", "title": "ok one"}\n{"id": "2"}\n{"id": "3", "title": "ok"}\n')
    index = tmp_path / "indexes" / "x"
    failed = runner.invoke(app, ["build", str(data), "--index", str(index)])
    assert failed.exit_code == 1 and f"{data}:2: field 'title'" in failed.output
    assert not index.exists()
    built = runner.invoke(app, ["build", str(data), "--index", str(index), "--skip-invalid"])
    assert built.exit_code == 0, built.output
    assert f"skipped (invalid): {data}:2" in built.output
    facts = json.loads(runner.invoke(app, ["info", "--index", str(index), "--json"]).stdout)
    assert facts["article_count"] == 2 and len(facts["skipped_invalid"]) == 1
