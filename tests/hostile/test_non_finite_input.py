"""Issue 12 item 5, the input edge: NaN and Infinity never enter an index.

``NaN``/``Infinity`` in input fields came back out as ``NaN``/``Infinity`` in the API and
``--json`` output, which browsers' JSON parsers reject. Every loader refuses them with an error
naming file, line and field. (Request settings: tests/hostile/test_settings_ranges.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.errors import InputError
from recommender.loaders import load_articles


@pytest.mark.parametrize(
    "value", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400", '{"deep": [1, NaN]}']
)
def test_jsonl_non_finite_numbers(tmp_path: Path, value: str) -> None:
    path = tmp_path / "news.jsonl"
    path.write_text(
        '{"id": "a", "title": "A"}\n{"id": "b", "title": "B", "score": ' + value + "}\n"
    )
    with pytest.raises(InputError, match=r"news\.jsonl:2: malformed JSON: .*(number|range)"):
        load_articles([path])


def test_json_array_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "news.json"
    path.write_text('[\n{"id": "a", "title": "NaN"},\n{"id": "b", "title": "B", "w": NaN}\n]\n')
    with pytest.raises(InputError, match=r"news\.json:3: malformed JSON: NaN is not a JSON"):
        load_articles([path])


@pytest.mark.parametrize(
    ("fence", "front"),
    [
        ("---", "weight: .nan\n"),
        ("---", "weight: -.inf\n"),
        ("---", "extra:\n  nested: [1, .inf]\n"),
        ("+++", "weight = nan\n"),
        ("+++", "weight = inf\n"),
    ],
)
def test_front_matter_non_finite_names_file_and_field(
    tmp_path: Path, fence: str, front: str
) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    title = 'title = "T"' if fence == "+++" else "title: T"
    (folder / "post.md").write_text(f"{fence}\n{title}\n{front}{fence}\nBody\n")
    field = front.split(":")[0].split("=")[0].strip()
    with pytest.raises(InputError, match=rf"post\.md:1: field '{field}': .*not a finite number"):
        load_articles([folder])


def test_strings_that_spell_nan_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    path.write_text('{"id": "NaN", "title": "Infinity", "note": "NaN", "n": 1.5e3}\n')
    (article,) = load_articles([path])
    assert article.id == "NaN" and article.metadata == {"note": "NaN", "n": 1500.0}
