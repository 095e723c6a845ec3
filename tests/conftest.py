from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from recommender.articles import Article, parse_datetime


class FakeEncoder:
    """Deterministic bag-of-words encoder: texts sharing words get similar vectors.

    For ranking and plumbing tests only; end-to-end tests use the real packaged model.
    """

    name = "fake-bow-64"
    dimension = 64

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                h = int(hashlib.md5(word.encode()).hexdigest(), 16)
                out[i, h % self.dimension] += 1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
            if not norm:
                out[i, 0] = 1.0
        return out

    @property
    def embedded(self) -> int:
        return sum(self.calls)


def make_article(id: str, title: str, body: str = "", **kw: object) -> Article:
    date = kw.pop("published_at", None)
    return Article(
        id=id,
        title=title,
        body=body,
        published_at=parse_datetime(date) if date else None,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def small_corpus() -> list[Article]:
    """Three topics (elections, football, space), dated over a year."""
    return [
        make_article(
            "vote-1",
            "Election campaign opens",
            "voters candidates election ballot",
            published_at="2025-01-01",
            category="politics",
            tags=("election",),
        ),
        make_article(
            "vote-2",
            "Election debate",
            "candidates election debate ballot voters",
            published_at="2025-01-10",
            category="politics",
            tags=("election",),
        ),
        make_article(
            "vote-3",
            "Election result",
            "election ballot count winner voters",
            published_at="2025-06-01",
            category="politics",
            tags=("election",),
        ),
        make_article(
            "ball-1",
            "Club wins derby",
            "football goal derby striker club",
            published_at="2025-01-05",
            category="sport",
            tags=("football",),
        ),
        make_article(
            "ball-2",
            "Striker injured",
            "football striker injury club goal",
            published_at="2025-02-01",
            category="sport",
            tags=("football",),
        ),
        make_article(
            "space-1",
            "Rocket launch",
            "rocket orbit launch mars mission",
            published_at="2025-03-01",
            category="science",
            tags=("space",),
        ),
        make_article(
            "space-2",
            "Mars landing",
            "mars mission landing rocket rover",
            published_at="2025-12-01",
            category="science",
            tags=("space",),
        ),
    ]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path
