"""Issue 12 item 10: re-upserting unchanged Markdown whose front matter has a date in an extra
field counted as changed every time (the YAML/TOML date object never equalled the text the
store had kept). Front-matter values are made JSON-ready at ingest, so they compare equal.
"""

from __future__ import annotations

from pathlib import Path

from recommender.engine import Engine
from recommender.loaders import load_articles

from ..conftest import FakeEncoder


def test_unchanged_markdown_with_extra_dates_is_unchanged(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    (content / "yaml.md").write_text(
        "---\ntitle: Summit talks\ndate: 2024-05-01\nlastmod: 2024-05-02\n"
        "reviewed: 2024-05-03T10:20:30Z\nschedule: {next: 2024-06-01}\n---\nLeaders meet.\n"
    )
    (content / "toml.md").write_text(
        '+++\ntitle = "Trade deal"\ndate = 2024-05-01\nlastmod = 2024-05-02T08:00:00+02:00\n'
        "alarm = 07:30:00\n+++\nA deal is signed.\n"
    )
    index = tmp_path / "idx"
    Engine.build(load_articles([content]), index, encoder=FakeEncoder(), cache=False)
    for _ in range(2):
        report = Engine.upsert(load_articles([content]), index, encoder=FakeEncoder(), cache=False)
        assert (report.new, report.changed, report.unchanged) == (0, 0, 2)
        assert report.generation == 1  # nothing was written
    engine = Engine.load(index)
    meta = engine.article("yaml").metadata
    engine.close()
    assert meta["lastmod"] == "2024-05-02" and meta["schedule"] == {"next": "2024-06-01"}
    assert meta["reviewed"] == "2024-05-03T10:20:30+00:00"
