"""Issue 12 item 3: front-matter bombs.

A 365-byte YAML alias bomb in one Markdown file became a 39 MB stored article. What a front
matter may expand to (aliases, nesting, size) is bounded, and the error names the file.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from recommender.errors import InputError
from recommender.loaders import MAX_MARKDOWN_BYTES, load_articles
from recommender.safeyaml import MAX_DEPTH, YAMLLimitError, expanded_size, load_yaml


def _laughs(levels: int) -> str:
    """The classic: each level a list of nine aliases of the one before."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def _post(tmp_path: Path, front: str, name: str = "bomb.md", fence: str = "---") -> Path:
    folder = tmp_path / "content"
    folder.mkdir(exist_ok=True)
    (folder / "fine.md").write_text("---\ntitle: A fine post\n---\nBody.\n")
    path = folder / name
    path.write_text(f"{fence}\ntitle: Boom\n{front}{fence}\nBody text.\n")
    return folder


BOMBS = {
    "alias bomb, 9 levels": _laughs(9),
    "alias bomb, 5 levels": _laughs(5),
    "deep flow nesting": "x: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep block nesting": "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v\n",
    "recursive alias": "loop: &l [1, *l]\n",
    "many aliases": "base: &b 1\nrefs: [" + ",".join(["*b"] * 500) + "]\n",
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_yaml_bombs_are_refused_naming_the_file(tmp_path: Path, name: str) -> None:
    folder = _post(tmp_path, BOMBS[name])
    started = time.perf_counter()
    with pytest.raises(InputError) as info:
        load_articles([folder])
    assert time.perf_counter() - started < 5
    message = str(info.value)
    assert message.startswith(str(folder / "bomb.md") + ":"), message
    assert "front matter" in message
    assert len(message) < 300 and "\n" not in message


def test_toml_deep_nesting_is_refused(tmp_path: Path) -> None:
    front = "x = " + "[" * 100_000 + "]" * 100_000 + "\n"
    folder = _post(tmp_path, front.replace("title: Boom\n", ""), fence="+++")
    (folder / "bomb.md").write_text(f'+++\ntitle = "Boom"\n{front}+++\nBody.\n')
    with pytest.raises(InputError, match=r"bomb\.md"):
        load_articles([folder])


def test_oversized_markdown_file_is_refused_before_reading(tmp_path: Path) -> None:
    folder = _post(tmp_path, "")
    big = folder / "huge.md"
    with open(big, "wb") as handle:  # sparse: no need to write the bytes
        handle.truncate(MAX_MARKDOWN_BYTES + 1)
    with pytest.raises(InputError, match=r"huge\.md.*bytes"):
        load_articles([folder])


def test_oversized_front_matter_is_refused(tmp_path: Path) -> None:
    front = "".join(f"field{i}: {'x' * 100}\n" for i in range(3000))  # ~320 KB
    folder = _post(tmp_path, front)
    with pytest.raises(InputError, match=r"bomb\.md.*front matter is larger"):
        load_articles([folder])


def test_ordinary_front_matter_with_anchors_still_loads(tmp_path: Path) -> None:
    front = "tags: &t [world, politics]\nkeywords: *t\nauthor: {name: A, links: [1, 2]}\n"
    articles = load_articles([_post(tmp_path, front, name="ok.md")])
    article = {a.id: a for a in articles}["ok"]
    assert article.tags == ("world", "politics")
    assert article.metadata["keywords"] == ["world", "politics"]


def test_expanded_size_counts_aliases_as_copies() -> None:
    import yaml

    node = yaml.compose("a: &x [1, 2]\nb: *x\n")
    # mapping + key a + list(1, 2) + key b + the same list again = 1 + 1 + 3 + 1 + 3
    assert expanded_size(node) == 9
    assert load_yaml("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}
    with pytest.raises(YAMLLimitError, match="nested deeper"):
        load_yaml("[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2))
