"""Gold-file loading (every error names file:line:field) and `recommender eval gold` on a small
index built with the fake encoder, against hand-computed recall and MRR."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recommender.articles import Article, InputError
from recommender.cli import app
from recommender.engine import Engine
from recommender.evaluation.gold import load_gold

from .conftest import FakeEncoder

runner = CliRunner()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_and_csv_read_alike(tmp_path: Path) -> None:
    jsonl = write(
        tmp_path / "g.jsonl",
        '{"id": "a", "related": ["b", "c"]}\n\n{"id": "d", "related": ["a"]}\n',
    )
    csv = write(tmp_path / "g.csv", "id,related_id\na,b\nd,a\na,c\n")
    assert load_gold(jsonl).as_dict() == {"a": ["b", "c"], "d": ["a"]}
    gold = load_gold(csv)
    assert gold.as_dict() == {"a": ["b", "c"], "d": ["a"]}
    assert [e.line for e in gold.entries] == [2, 3]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "g.jsonl",
            '{"id": "a", "related": ["b"]}\n{"id": "b", "related": [\n',
            "g.jsonl:2: malformed JSON",
        ),
        ("g.jsonl", '{"related": ["b"]}\n', "g.jsonl:1: field 'id': missing"),
        (
            "g.jsonl",
            '\n{"id": "a", "related": "b"}\n',
            "g.jsonl:2: field 'related': expected a list of ids, got str",
        ),
        ("g.jsonl", '{"id": "a"}\n', "g.jsonl:1: field 'related': missing"),
        ("g.jsonl", '{"id": "a", "related": []}\n', "g.jsonl:1: field 'related': no related ids"),
        ("g.jsonl", '{"id": "a", "related": ["a"]}\n', "g.jsonl:1: field 'related': 'a' lists"),
        (
            "g.jsonl",
            '{"id": "a", "related": [1.5]}\n',
            "g.jsonl:1: field 'related': expected an id (string), got float",
        ),
        (
            "g.jsonl",
            '{"id": "a", "related": ["b"]}\n{"id": "a", "related": ["c"]}\n',
            "g.jsonl:2: field 'id': duplicate id 'a' (first on line 1)",
        ),
        ("g.jsonl", '["a", "b"]\n', "g.jsonl:1: expected an object"),
        ("g.jsonl", "  \n\n", "g.jsonl: gold file is empty"),
        ("g.csv", "", "g.csv: gold file is empty"),
        ("g.csv", "source,target\na,b\n", "g.csv:1: field 'id': header must name the columns"),
        ("g.csv", "id,related_id\na,b\nc,\n", "g.csv:3: field 'related_id': empty id"),
        ("g.csv", "id,related_id\na,b\nc\n", "g.csv:3: expected 2 cells, found 1"),
    ],
)
def test_errors_name_file_line_field(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = write(tmp_path / name, text)
    with pytest.raises(InputError) as info:
        load_gold(path)
    assert str(info.value).startswith(str(tmp_path / expected))


def test_unknown_ids_are_named(tmp_path: Path) -> None:
    path = write(
        tmp_path / "g.jsonl",
        '{"id": "a", "related": ["b"]}\n{"id": "c", "related": ["a", "ghost", "phantom"]}\n',
    )
    with pytest.raises(InputError) as info:
        load_gold(path, known_ids={"a", "b", "c"})
    message = str(info.value)
    where = tmp_path / "g.jsonl"
    assert message.startswith(f"{where}:2: field 'related': 2 id(s) not in the index")
    assert "'ghost', 'phantom'" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="gold file not found"):
        load_gold(tmp_path / "nope.jsonl")


@pytest.fixture
def index(tmp_path: Path, small_corpus: list[Article]) -> Path:
    path = tmp_path / "indexes" / "small"
    Engine.build(small_corpus, path, encoder=FakeEncoder(), cache=False)
    return path


def test_eval_gold_hand_computed(tmp_path: Path, index: Path) -> None:
    # The premise, checked first: top-2 lists of the fake-encoder index.
    engine = Engine.load(index)
    sources = ("vote-1", "vote-2", "space-1", "ball-1")
    lists = {i: [r.id for r in engine.related(i, k=2)] for i in sources}
    engine.close()
    assert sorted(lists["vote-1"]) == ["vote-2", "vote-3"]
    assert lists["vote-2"] == ["vote-1", "vote-3"]
    assert lists["space-1"][0] == "space-2" and "ball-1" not in lists["space-1"]
    assert "space-2" not in lists["ball-1"]
    gold = write(
        tmp_path / "gold.jsonl",
        "\n".join(
            json.dumps(g)
            for g in [
                {"id": "vote-1", "related": ["vote-2", "vote-3"]},  # both found: recall 1, RR 1
                {"id": "vote-2", "related": ["vote-3"]},  # at rank 2: recall 1, RR 1/2
                {"id": "space-1", "related": ["space-2", "ball-1"]},  # one of two: recall 1/2, RR 1
                {"id": "ball-1", "related": ["space-2"]},  # not in top 2: recall 0, RR 0
            ]
        )
        + "\n",
    )
    result = runner.invoke(
        app, ["eval", "gold", "--index", str(index), "--gold", str(gold), "-k", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["recall@2"] == pytest.approx((1 + 1 + 0.5 + 0) / 4, abs=1e-4)
    assert data["mrr"] == pytest.approx((1 + 0.5 + 1 + 0) / 4, abs=1e-4)
    assert 0 < data["ndcg@2"] <= 1
    props = data["list_properties"]
    assert props["lists"] == 7 and props["catalog_size"] == 7
    assert 0 < props["coverage"] <= 1
    assert data["gold_sources"] == 4

    table = runner.invoke(
        app, ["eval", "gold", "--index", str(index), "--gold", str(gold), "-k", "2"]
    )
    assert table.exit_code == 0, table.output
    assert "recall@2" in table.output and "catalog coverage" in table.output


def test_eval_gold_unknown_id_is_one_line(tmp_path: Path, index: Path) -> None:
    gold = write(tmp_path / "gold.csv", "id,related_id\nvote-1,vote-2\nvote-1,nope\n")
    result = runner.invoke(app, ["eval", "gold", "--index", str(index), "--gold", str(gold)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: {gold}:2: field 'related': 1 id(s) not in the index: 'nope'"
    ]


def test_copy_groups_count_once(tmp_path: Path) -> None:
    """A nested list names copies of one story: showing either finds the item, showing both
    finds it once and the second copy wastes its slot."""
    from recommender.evaluation.runs import gold_metrics

    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps({"id": "s", "related": [["a", "a-wire"], "b"]}) + "\n")
    gold = load_gold(path)
    assert gold.as_dict() == {"s": ["a", "a-wire", "b"]}
    copy_of = gold.copy_of()
    assert copy_of == {"a": "a", "a-wire": "a"}
    as_dict = gold.as_dict()
    one_copy = gold_metrics({"s": ["a-wire", "b"]}, as_dict, 2, copy_of)
    assert one_copy["recall@2"] == 1.0
    both = gold_metrics({"s": ["a", "a-wire", "b"]}, as_dict, 3, copy_of)
    assert both["recall@3"] == 1.0
    # the second copy holds position 2, so b is found at 3, not moved up to 2
    assert both["ndcg@3"] < one_copy["ndcg@2"]
    assert gold_metrics({"s": ["a", "a-wire"]}, as_dict, 2, copy_of)["recall@2"] == 0.5
    # without the groups, the flat gold wants both copies
    assert gold_metrics({"s": ["a-wire", "b"]}, as_dict, 2)["recall@2"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([{"id": "s", "related": [["a"]]}], "gold.jsonl:1: field 'related': a copy group"),
        (
            [{"id": "s", "related": [["a", "b"]]}, {"id": "t", "related": [["a", "c"]]}],
            "gold.jsonl:2: field 'related': 'a' is in two different copy groups",
        ),
        ([{"id": "s", "related": [["a", 3.5]]}], "gold.jsonl:1: field 'related': expected an id"),
    ],
)
def test_copy_group_errors(tmp_path: Path, lines: list[dict[str, object]], expected: str) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(InputError) as info:
        load_gold(path)
    assert expected in str(info.value)
