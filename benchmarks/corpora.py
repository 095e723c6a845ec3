"""Public real-text corpora for the relevance studies, rebuilt from fetched files (never
committed: their licences allow research use, not redistribution).

    git clone https://github.com/namyadhingra/NLP_Classifies-SportsVsPolitics /tmp/src
    .venv/bin/python benchmarks/corpora.py /tmp/src /tmp/relcorpora

- ``bbc``: ``bbc-text.csv`` of that repository: 928 BBC News articles (2004-2005, the sport and
  politics sections of Greene & Cunningham's BBC data set: lower-cased, punctuation kept), with
  their section. Median length about 2,000 characters: half are longer than the model reads.
  The original data set is known to hold verbatim duplicates, which the duplicate figures use.
- ``star``: ``indian_news_with_text.csv``: 233 news pages (2025, thestar.com.my and other
  sites; politics and sport) with their URL and scraped text (long: median 4,600 characters,
  page boilerplate included, as a site's export often is).

Each is written as ``<name>.jsonl`` in the engine's article format (id, title = first sentence,
body = the rest, category = section). No dates: recency plays no part in these figures.

Two corpora with story labels ("threads": articles that report the same news event), for
same-thread recall. The label is kept out of the articles, in ``<name>.threads.json``
(``{id: {"thread", "topic", "split"}}``), so the engine never sees it:

    git clone https://github.com/tommasoc80/EventStoryLine /tmp/esc          # holds ECB+ unzipped
    git clone https://github.com/anastasia-zhukova/Diverse_CDCR_datasets /tmp/cdcr
    .venv/bin/python benchmarks/corpora.py ecbplus /tmp/esc/ECB+_LREC2014/ECB+ /tmp/relcorpora
    .venv/bin/python benchmarks/corpora.py newswcl50 \
        /tmp/cdcr/NewsWCL50-prep/output_data/NewsWCL50.conll /tmp/relcorpora

- ``ecbplus``: ECB+ (Cybulska & Vossen, LREC 2014; CC BY 3.0): 982 English news articles
  (2008-2013, many outlets) in 43 topics (a kind of event: "celebrity checks into rehab",
  "earthquake") of two events each: topic 1 is Tara Reid entering rehab in 2008 (the ``ecb``
  files) and Lindsay Lohan in 2013 (``ecbplus``). Thread = topic + event (86 threads, 2-19
  articles each, median about 11), so every article has same-kind distractors of the other
  event. The files are tokenized (detokenized here by spacing rules); the ``ecbplus`` files
  start with the page URL, a headline and usually a date line, which become url, title and
  published_at; the ``ecb`` files have no date (their first sentence is the title). No
  sections. ``split``: ``test`` for topics 36-45 (the usual held-out topics of ECB+ studies),
  ``dev`` for the rest: settings may be chosen on dev sources only.
- ``newswcl50``: NewsWCL50 (Hamborg et al., 2019): 50 articles, 10 political events of
  2014-2018 (thread), each reported by five US outlets from left to right. The conll file of
  Diverse_CDCR_datasets holds the tokenized texts (first sentence = title). No dates, no
  sections. Held out entirely (``split`` = ``test``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import sys
from pathlib import Path
from xml.etree import ElementTree

csv.field_size_limit(10**9)
_FIRST = re.compile(r"^(.{20,200}?[.!?])\s+(.*)$", re.DOTALL)


def _split(text: str) -> tuple[str, str]:
    text = " ".join(text.split())
    m = _FIRST.match(text)
    return (m.group(1), m.group(2)) if m else (text[:120], text[120:])


def rebuild(source: Path, out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name, file in (("bbc", "bbc-text.csv"), ("star", "indian_news_with_text.csv")):
        rows = list(csv.DictReader((source / file).open(encoding="utf-8")))
        lines = []
        for i, row in enumerate(rows):
            text = row.get("text") or ""
            if len(text.split()) < 30:
                continue
            title, body = _split(text)
            digest = hashlib.sha1(text.encode()).hexdigest()[:8]
            lines.append(
                json.dumps(
                    {
                        "id": f"{name}-{i:04d}-{digest}",
                        "title": title,
                        "body": body,
                        "category": row["category"].lower(),
                    }
                )
            )
        (out / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        counts[name] = len(lines)
    return counts


_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATES = (
    (re.compile(_MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?\s*,?\s+((?:19|20)\d\d)", re.I), (3, 1, 2)),
    (re.compile(r"(\d{1,2})\s+" + _MONTH + r",?\s+((?:19|20)\d\d)", re.I), (3, 2, 1)),
    (re.compile(r"((?:19|20)\d\d)\s*/\s*(\d\d)\s*/\s*(\d\d)\b"), (1, 2, 3)),
)
_NO_SPACE_BEFORE = re.compile(r" ([.,;:!?%)\]}]|'s\b|'re\b|'ve\b|'ll\b|'d\b|n't\b|'m\b)")
_NO_SPACE_AFTER = re.compile(r"([(\[{$]) ")
_JOINED = re.compile(r"(?<=\w) ([-/]|:(?= \d)) (?=\w)")


def detokenize(tokens: list[str]) -> str:
    """Tokens joined with the usual spacing rules of English text (close enough for the model
    and TF-IDF, which both tokenize again)."""
    text = " ".join(tokens).replace("``", '"').replace("''", '"')
    text = _JOINED.sub(r"\1", text)  # "Ram - raiders", "11 : 25"
    text = _NO_SPACE_BEFORE.sub(r"\1", text)
    return _NO_SPACE_AFTER.sub(r"\1", text)


def find_date(text: str) -> str | None:
    """The first date written in ``text`` ("May 03, 2013", "4 August 2011", "/2013/05/03"),
    as an ISO date, or None."""
    for pattern, (y, m, d) in _DATES:
        for match in pattern.finditer(text):
            groups = match.groups()
            month = groups[m - 1]
            month_no = _MONTHS.get(month[:3].lower()) if not month.isdigit() else int(month)
            try:
                return dt.date(int(groups[y - 1]), month_no or 0, int(groups[d - 1])).isoformat()
            except ValueError:
                continue
    return None


def _ecb_sentences(path: Path) -> list[str]:
    sentences: dict[int, list[str]] = {}
    for token in ElementTree.parse(path).getroot().iter("token"):
        sentences.setdefault(int(token.get("sentence", 0)), []).append(token.text or "")
    return [detokenize(sentences[k]) for k in sorted(sentences)]


def _ecb_article(path: Path, topic: int) -> tuple[dict, dict]:
    """One ECB+ file as an article (url, title, date line, body) and its labels."""
    sentences = _ecb_sentences(path)
    plus = path.name.endswith("ecbplus.xml")
    url = None
    if sentences and sentences[0].replace(" ", "").startswith("http"):
        url = sentences.pop(0).replace(" ", "")
    title = sentences.pop(0) if sentences else path.stem
    published = None
    if plus:
        published = find_date(" ".join(sentences[:2])) or (find_date(url) if url else None)
        if sentences and published and len(sentences[0].split()) <= 12 and find_date(sentences[0]):
            sentences.pop(0)  # the date line
    article = {"id": f"ecbplus-{path.stem}", "title": title, "body": " ".join(sentences)}
    if url:
        article["url"] = url
    if published:
        article["published_at"] = published
    labels = {
        "thread": f"{topic}{'b' if plus else 'a'}",
        "topic": str(topic),
        "split": "test" if topic >= 36 else "dev",
    }
    return article, labels


def rebuild_ecbplus(source: Path, out: Path) -> dict[str, int]:
    """``source``: the ECB+ folder (one folder per topic, ``<topic>_<n>ecb[plus].xml`` files)."""
    articles, labels = [], {}
    for topic_dir in sorted((d for d in source.iterdir() if d.is_dir()), key=lambda d: int(d.name)):
        for path in sorted(topic_dir.glob("*.xml")):
            article, label = _ecb_article(path, int(topic_dir.name))
            articles.append(article)
            labels[article["id"]] = label
    return _write(out, "ecbplus", articles, labels)


def rebuild_newswcl50(conll: Path, out: Path) -> dict[str, int]:
    """``conll``: NewsWCL50.conll (``#begin document <event>/-/<event>_<outlet>``, one token
    a line: document, sentence, position, token)."""
    docs: dict[str, dict[int, list[str]]] = {}
    for line in conll.read_text(encoding="utf-8").splitlines():
        cells = line.split("\t")
        if line.startswith("#") or len(cells) < 4:
            continue
        docs.setdefault(cells[0], {}).setdefault(int(cells[1]), []).append(cells[3])
    articles, labels = [], {}
    for name, sentences in docs.items():
        text = " ".join(detokenize(sentences[k]) for k in sorted(sentences))
        lines = [" ".join(p.split()) for p in text.split("\\n") if p.strip()]  # "\n" tokens
        # the first paragraph of six words or more is the title (the first is often a dateline)
        first = next((i for i, line in enumerate(lines) if len(line.split()) >= 6), 0)
        title, body = lines[first], "\n\n".join(lines[:first] + lines[first + 1 :])
        event, outlet = name.split("/")[-1].split("_", 1)
        aid = f"newswcl50-{event}-{outlet}"
        articles.append({"id": aid, "title": title, "body": body})
        labels[aid] = {"thread": event, "topic": event, "split": "test"}
    return _write(out, "newswcl50", articles, labels)


def _write(out: Path, name: str, articles: list[dict], labels: dict[str, dict]) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    lines = "\n".join(json.dumps(a) for a in articles) + "\n"
    (out / f"{name}.jsonl").write_text(lines, encoding="utf-8")
    (out / f"{name}.threads.json").write_text(json.dumps(labels, indent=0), encoding="utf-8")
    return {name: len(articles), f"{name} threads": len({v["thread"] for v in labels.values()})}


if __name__ == "__main__":
    if sys.argv[1] == "ecbplus":
        print(rebuild_ecbplus(Path(sys.argv[2]), Path(sys.argv[3])))
    elif sys.argv[1] == "newswcl50":
        print(rebuild_newswcl50(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        print(rebuild(Path(sys.argv[1]), Path(sys.argv[2])))
