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
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from pathlib import Path

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


if __name__ == "__main__":
    print(rebuild(Path(sys.argv[1]), Path(sys.argv[2])))
