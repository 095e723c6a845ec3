"""The bundled demo corpus: about 100 short news articles written for this project."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def demo_articles_path() -> Path:
    return Path(str(resources.files("recommender") / "data" / "demo" / "articles.jsonl"))


def demo_gold_path() -> Path:
    return Path(str(resources.files("recommender") / "data" / "demo" / "gold.jsonl"))
