"""A Hugo and a Jekyll site end to end with the real packaged model, as a user runs it:
``recommender build SITE_ROOT``, ``recommender export --out SITE_ROOT``, the generator."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.engine import Engine

from .test_sites_generators import FIXTURES, SITES, page_file, parse, run_generator

pytestmark = [pytest.mark.model, pytest.mark.slow]
TOPICS = {  # words of each fixture topic, to check that lists stay on topic
    "sky": ("comet", "telescope", "meteor"),
    "bread": ("sourdough", "rye", "bread"),
    "bike": ("chain", "tyre", "bicycle", "ride", "1984", "racer", "saddle", "riding", "puncture"),
}


def cli(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "recommender", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def topic(text: str) -> str | None:
    text = text.lower()
    return next((name for name, words in TOPICS.items() if any(w in text for w in words)), None)


@pytest.mark.parametrize("generator", ["hugo", "jekyll"])
def test_site_end_to_end_with_the_real_model(tmp_path: Path, generator: str) -> None:
    root = Path(shutil.copytree(FIXTURES / SITES[generator], tmp_path / "site"))
    build = json.loads(cli("build", ".", "--json", cwd=root).strip().splitlines()[-1])
    assert build["model"] == "all-MiniLM-L6-v2"
    cli("export", "--out", ".", cwd=root)  # format and index found from the site root
    out = run_generator(generator, root)
    base = "/news/" if generator == "hugo" else "/blog/"
    info = json.loads(cli("info", "--json", cwd=root))
    assert info["site"]["generator"] == generator
    count = info["site"]["articles"]
    engine = Engine.load(root / ".recommender" / "index")
    urls = {engine.article(i).url: engine.article(i).title for i in engine.ids()}
    assert len(urls) == count
    pages = on_topic = total = 0
    for url, title in urls.items():
        links = parse(page_file(out, url or "", base))
        assert links.hrefs, f"no list on {url}"
        pages += 1
        for href in links.hrefs:
            assert href in urls and page_file(out, href, base).is_file()
        # The first link shares the page's topic (each topic has 2+ published posts).
        first = links.hrefs[0]
        total += 1
        on_topic += topic(urls[first] + " " + first) == topic(title + " " + (url or ""))
    assert pages == count
    assert on_topic == total, f"{on_topic}/{total} first links on topic"
