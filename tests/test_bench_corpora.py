"""The story-labelled corpora of benchmarks/ and the same-thread recall they are judged by:
fixtures written for this test in the shapes of the real files (ECB+ token XML, NewsWCL50
conll), never their text."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from recommender.articles import Article

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def bench():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(BENCH))
    try:
        import corpora
        import real_corpora

        yield corpora, real_corpora
    finally:
        sys.path.remove(str(BENCH))


def _ecb_xml(sentences: list[str]) -> str:
    tokens = []
    t = 1
    for s, sentence in enumerate(sentences):
        for n, word in enumerate(sentence.split()):
            tokens.append(f'<token t_id="{t}" sentence="{s}" number="{n}">{word}</token>')
            t += 1
    return '<Document doc_name="x">\n' + "\n".join(tokens) + "\n</Document>\n"


def test_find_date_and_detokenize(bench) -> None:  # type: ignore[no-untyped-def]
    corpora, _ = bench
    assert corpora.find_date("on August 04 2011 5 : 46 PM") == "2011-08-04"
    assert corpora.find_date("Updated : 9 Sep 2013") == "2013-09-09"
    assert corpora.find_date("http://x.com/2013/05/03/story") == "2013-05-03"
    assert corpora.find_date("no date here, 40 February 2013") is None
    text = corpora.detokenize(
        [
            "Lohan",
            "'s",
            "lawyer",
            "said",
            "``",
            "no",
            "''",
            "(",
            "again",
            ")",
            ",",
            "Ram",
            "-",
            "raiders",
        ]
    )
    assert text == 'Lohan\'s lawyer said " no " (again), Ram-raiders'


def test_ecbplus_articles_and_threads(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    corpora, _ = bench
    for topic in ("3", "40"):
        folder = tmp_path / "ECB+" / topic
        folder.mkdir(parents=True)
        (folder / f"{topic}_1ecb.xml").write_text(
            _ecb_xml(["Singer checks into clinic", "The singer entered a clinic on Friday ."])
        )
        (folder / f"{topic}_1ecbplus.xml").write_text(
            _ecb_xml(
                [
                    "http : / / example . com / a",
                    "Actor leaves clinic",
                    "May 03 , 2013",
                    "The actor left the clinic after a week .",
                ]
            )
        )
    counts = corpora.rebuild_ecbplus(tmp_path / "ECB+", tmp_path / "out")
    assert counts == {"ecbplus": 4, "ecbplus threads": 4}
    rows = [json.loads(line) for line in (tmp_path / "out" / "ecbplus.jsonl").open()]
    labels = json.loads((tmp_path / "out" / "ecbplus.threads.json").read_text())
    plus = next(r for r in rows if r["id"] == "ecbplus-3_1ecbplus")
    assert plus["title"] == "Actor leaves clinic" and plus["url"] == "http://example.com/a"
    assert plus["published_at"] == "2013-05-03"
    assert plus["body"] == "The actor left the clinic after a week."  # the date line is not body
    old = next(r for r in rows if r["id"] == "ecbplus-3_1ecb")
    assert old["title"] == "Singer checks into clinic" and "published_at" not in old
    assert labels["ecbplus-3_1ecb"] == {"thread": "3a", "topic": "3", "split": "dev"}
    assert labels["ecbplus-40_1ecbplus"] == {"thread": "40b", "topic": "40", "split": "test"}
    assert "thread" not in plus  # the label stays out of the article


def test_newswcl50_from_conll(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    corpora, _ = bench
    lines = ["#begin document 4/-/4_L; part 000"]
    for s, sentence in enumerate(
        ["CITY , State —", "Leaders meet to discuss the new trade deal", "More ."]
    ):
        for n, word in enumerate(sentence.split()):
            lines.append(f"4/-/4_L\t{s}\t{n}\t{word}\t-\t")
    lines.append("#end document")
    conll = tmp_path / "x.conll"
    conll.write_text("\n".join(lines) + "\n")
    corpora.rebuild_newswcl50(conll, tmp_path)
    row = json.loads((tmp_path / "newswcl50.jsonl").read_text())
    assert row["id"] == "newswcl50-4-L"
    assert row["title"].startswith("CITY, State — Leaders meet")  # no paragraph break: one line
    assert json.loads((tmp_path / "newswcl50.threads.json").read_text())[row["id"]]["thread"] == "4"


def test_same_thread_recall_counts_copies_once(bench) -> None:  # type: ignore[no-untyped-def]
    _, rc = bench
    # s, a, a2 (a verbatim copy of a), b, c (a copy of s) in one thread; x elsewhere
    texts = {"s": "one", "a": "two", "a2": "two", "b": "three", "c": "one", "x": "four"}
    articles = [Article(id=k, title=v) for k, v in texts.items()]
    vectors = np.eye(len(articles))
    threads = {k: ("t" if k != "x" else "u") for k in texts}
    targets = rc.thread_targets(articles, threads, vectors)
    pos = {a.id: i for i, a in enumerate(articles)}
    assert sorted(len(g) for g in targets["s"]) == [1, 2]  # {a, a2}, {b}; c is s's own copy

    def recall(shown: list[str]) -> float:
        return rc.thread_recall({"s": shown}, {"s": targets["s"]}, pos)

    assert recall(["a", "x"]) == 0.5
    assert recall(["a", "a2"]) == 0.5  # the second copy finds nothing new
    assert recall(["a2", "b"]) == 1.0
    assert recall(["c", "x"]) == 0.0  # the source's copy is no thread mate
    assert recall([]) == 0.0
    assert rc.thread_recall({}, {"x": []}, pos) is None  # no source with mates: no figure
