"""Issue 12 item 9: files outside the folder given.

A ``.md`` symlink pointing outside the content folder was indexed (its body then served by
``GET /articles/{id}``), and export followed a pre-existing ``related/`` symlink, writing and
deleting files outside ``--out``. Neither follows links out of its folder unless asked.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from recommender.engine import Engine
from recommender.errors import ExportTargetError, InputError
from recommender.export import export
from recommender.loaders import load_articles
from recommender.sites import detect, read_site

from ..conftest import FakeEncoder


def _post(path: Path, title: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\ntitle: {title}\n---\nBody of {title}.\n")


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, Path]:
    content, secret = tmp_path / "content", tmp_path / "private"
    _post(content / "world" / "summit.md", "Summit")
    _post(secret / "passwords.md", "Secret notes")
    return content, secret


def test_file_link_out_of_the_folder_is_refused(site: tuple[Path, Path]) -> None:
    content, secret = site
    os.symlink(secret / "passwords.md", content / "world" / "notes.md")
    with pytest.raises(InputError) as info:
        load_articles([content])
    message = str(info.value)
    assert message.startswith(str(content / "world" / "notes.md") + ": ")
    assert "outside" in message and "--follow-symlinks" in message


def test_folder_link_out_of_the_folder_is_refused(site: tuple[Path, Path]) -> None:
    content, secret = site
    os.symlink(secret, content / "more")
    with pytest.raises(InputError, match="symbolic link"):
        load_articles([content])


def test_relative_link_climbing_out_is_refused(site: tuple[Path, Path]) -> None:
    content, _ = site
    os.symlink("../../private/passwords.md", content / "world" / "notes.md")
    with pytest.raises(InputError, match="outside"):
        load_articles([content])


def test_follow_symlinks_reads_them(site: tuple[Path, Path]) -> None:
    content, secret = site
    os.symlink(secret / "passwords.md", content / "world" / "notes.md")
    os.symlink(secret, content / "more")
    os.symlink(content, content / "loop")  # a cycle must not hang
    ids = sorted(a.id for a in load_articles([content], follow_symlinks=True))
    assert ids == ["more/passwords", "world/notes", "world/summit"]


def test_links_inside_the_folder_are_fine(site: tuple[Path, Path]) -> None:
    content, _ = site
    os.symlink(content / "world" / "summit.md", content / "alias.md")
    os.symlink(content / "world", content / "section")  # same files: not walked twice
    ids = sorted(a.id for a in load_articles([content]))
    assert ids == ["alias", "world/summit"]


def test_the_folder_given_may_itself_be_a_link(site: tuple[Path, Path], tmp_path: Path) -> None:
    content, _ = site
    os.symlink(content, tmp_path / "content-link")
    assert [a.id for a in load_articles([tmp_path / "content-link"])] == ["world/summit"]


@pytest.fixture
def engine(tmp_path: Path, small_corpus: list) -> Engine:
    Engine.build(small_corpus, tmp_path / "idx", encoder=FakeEncoder(), cache=False)
    loaded = Engine.load(tmp_path / "idx")
    yield loaded
    loaded.close()


@pytest.mark.parametrize(
    ("fmt", "link"),
    [
        ("json", "related"),
        ("hugo", "data"),
        ("hugo", "data/related"),
        ("jekyll", "_data"),
        ("json", "related.json"),
        ("jekyll", "_data/related.json"),
    ],
)
def test_export_refuses_links_out_of_out(
    engine: Engine, tmp_path: Path, fmt: str, link: str
) -> None:
    out, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    precious = elsewhere / "precious.json"
    precious.write_text('{"keep": true}\n')
    (out / link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(precious if link.endswith(".json") else elsewhere, out / link)
    with pytest.raises(ExportTargetError, match="outside"):
        export(engine, out, format=fmt, k=2)
    assert sorted(p.name for p in elsewhere.iterdir()) == ["precious.json"]
    assert precious.read_text() == '{"keep": true}\n'


def test_export_follows_links_that_stay_inside(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "site"
    (out / "real").mkdir(parents=True)
    os.symlink(out / "real", out / "related")
    report = export(engine, out, format="json", k=2)
    assert report.written == len(engine) + 1
    assert len(list((out / "real").glob("*.json"))) == len(engine)


def test_cli_export_refusal_is_one_line(engine: Engine, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from recommender.cli import app

    out, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    os.symlink(elsewhere, out / "related")
    result = CliRunner().invoke(
        app, ["export", "--index", str(tmp_path / "idx"), "--out", str(out)]
    )
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if line] == [
        line for line in result.output.splitlines() if line.startswith("error: ")
    ]
    assert list(elsewhere.iterdir()) == []


def test_cli_build_refuses_then_follows_with_the_flag(
    site: tuple[Path, Path], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from recommender.cli import app

    content, secret = site
    os.symlink(secret / "passwords.md", content / "notes.md")
    index = tmp_path / "indexes" / "site"
    refused = CliRunner().invoke(app, ["build", str(content), "--index", str(index)])
    assert refused.exit_code == 1 and "--follow-symlinks" in refused.output
    assert not index.exists()
    # With the flag the files are read; the build then stops at the (missing) model, past
    # the loaders: no model is loaded in this test.
    missing_model = str(tmp_path / "no-such-model")
    followed = CliRunner().invoke(
        app,
        [
            "build",
            str(content),
            "--index",
            str(index),
            "--follow-symlinks",
            "--no-cache",
            "--model",
            missing_model,
        ],
    )
    assert followed.exit_code == 1
    assert "symbolic link" not in followed.output and "no-such-model" in followed.output


# ------------------------------------------------------------- Hugo and Jekyll site roots
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _site_post(path: Path, title: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\ntitle: {title}\ndate: 2025-05-01\n---\nBody of {title}.\n")


@pytest.fixture
def hugo_site(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(site root, its posts folder, a private folder beside the site)."""
    root, secret = tmp_path / "blog", tmp_path / "private"
    (root / "hugo.toml").parent.mkdir(parents=True)
    (root / "hugo.toml").write_text('baseURL = "https://example.org/"\n')
    _site_post(root / "content" / "posts" / "summit.md", "Summit")
    _site_post(secret / "2025-05-02-passwords.md", "Secret notes")
    return root, root / "content" / "posts", secret


@pytest.fixture
def jekyll_site(tmp_path: Path) -> tuple[Path, Path, Path]:
    root, secret = tmp_path / "blog", tmp_path / "private"
    (root / "_config.yml").parent.mkdir(parents=True)
    (root / "_config.yml").write_text("baseurl: ''\n")
    _site_post(root / "_posts" / "2025-05-01-summit.md", "Summit")
    _site_post(secret / "2025-05-02-passwords.md", "Secret notes")
    return root, root / "_posts", secret


SITES = ["hugo_site", "jekyll_site"]


def _read(root: Path, follow: bool = False) -> list[str]:
    site = detect(root)
    assert site is not None
    read = read_site(site, NOW, follow_symlinks=follow)
    assert not read.rejected
    return sorted(a.title for a in read.articles)


@pytest.mark.parametrize("kind", SITES)
def test_site_file_link_out_of_the_root_is_refused(
    kind: str, request: pytest.FixtureRequest
) -> None:
    root, posts, secret = request.getfixturevalue(kind)
    link = posts / "2025-05-02-notes.md"
    os.symlink(secret / "2025-05-02-passwords.md", link)
    with pytest.raises(InputError) as info:
        _read(root)
    message = str(info.value)
    assert message.startswith(f"{link}: ") and "\n" not in message
    assert "outside" in message and "--follow-symlinks" in message
    assert _read(root, follow=True) == ["Secret notes", "Summit"]


@pytest.mark.parametrize("kind", SITES)
@pytest.mark.parametrize("where", ["posts", "above"])
def test_site_folder_link_out_of_the_root_is_refused(
    kind: str, where: str, request: pytest.FixtureRequest
) -> None:
    root, posts, secret = request.getfixturevalue(kind)
    # inside the posts folder, or (Jekyll: a category folder holding a _posts; Hugo: a
    # section) directly under the content root
    if where == "posts":
        link = posts / "more"
        os.symlink(secret, link)
    else:
        outside = secret.parent / "category"
        (outside / "_posts").mkdir(parents=True)
        os.replace(secret / "2025-05-02-passwords.md", outside / "_posts" / "2025-05-02-p.md")
        link = posts.parent / "category"
        os.symlink(outside if kind == "jekyll_site" else outside / "_posts", link)
    with pytest.raises(InputError, match="symbolic link") as info:
        _read(root)
    assert str(info.value).startswith(f"{link}: ")
    assert _read(root, follow=True) == ["Secret notes", "Summit"]


@pytest.mark.parametrize("kind", SITES)
def test_site_posts_folder_itself_linked_out_is_refused(
    kind: str, request: pytest.FixtureRequest
) -> None:
    root, posts, secret = request.getfixturevalue(kind)
    shutil.rmtree(posts)
    os.symlink(secret, posts)
    with pytest.raises(InputError, match="outside"):
        _read(root)
    assert _read(root, follow=True) == ["Secret notes"]


@pytest.mark.parametrize("kind", SITES)
def test_site_links_inside_the_root_are_fine(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    root, posts, _ = request.getfixturevalue(kind)
    _site_post(root / "drafts" / "2025-05-03-kept.md", "Kept")
    os.symlink(root / "drafts" / "2025-05-03-kept.md", posts / "2025-05-03-kept.md")
    os.symlink(root, posts / "loop")  # inside the root and a cycle: neither refused nor hung
    assert _read(root) == ["Kept", "Summit"]
    os.symlink(root, tmp_path / "root-link")  # the root given may itself be a link
    assert _read(tmp_path / "root-link") == ["Kept", "Summit"]


@pytest.mark.parametrize("kind", SITES)
def test_cli_site_build_refuses_then_follows_with_the_flag(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from recommender.cli import app

    root, posts, secret = request.getfixturevalue(kind)
    os.symlink(secret / "2025-05-02-passwords.md", posts / "2025-05-02-notes.md")
    index = tmp_path / "indexes" / "site"
    refused = CliRunner().invoke(app, ["build", str(root), "--index", str(index)])
    assert refused.exit_code == 1 and "--follow-symlinks" in refused.output
    assert not index.exists()
    missing_model = str(tmp_path / "no-such-model")
    args = ["build", str(root), "--index", str(index), "--follow-symlinks", "--no-cache"]
    followed = CliRunner().invoke(app, [*args, "--model", missing_model])
    assert followed.exit_code == 1
    assert "symbolic link" not in followed.output and "no-such-model" in followed.output
