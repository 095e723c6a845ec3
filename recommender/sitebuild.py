"""The CLI's side of a build: where the index goes, what was skipped, and the report kept
beside the index (``<index>.build.json``) that ``info`` shows."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from recommender.articles import Article
from recommender.errors import PathError
from recommender.intake import Intake, accept, gather
from recommender.sites import default_index, site_index
from recommender.sources import ReadOptions


def gather_for_build(
    inputs: Sequence[str | Path],
    index: Path | None,
    *,
    skip_invalid: bool,
    read: ReadOptions | None = None,
) -> tuple[Intake, tuple[Article, ...], Path]:
    """(what was read, the articles to index, the index path). A site root's index defaults to
    ``SITE_ROOT/.recommender/index``, a folder neither Hugo nor Jekyll publishes."""
    intake = gather(inputs, read=read)
    articles = accept(intake, skip_invalid=skip_invalid)
    if index is None:
        index = site_index(intake.site.site.root) if intake.site else default_index()
    return intake, articles, index


def report_path(index: Path) -> Path:
    return index.parent / f"{index.name}.build.json"


def save_site_report(intake: Intake, index: Path, echo: Any = None) -> dict[str, Any]:
    """Record what the build skipped and rejected beside the index; say it on ``echo``."""
    facts: dict[str, Any] = {"rejected": [str(e) for e in intake.rejected]}
    if intake.site is not None:
        facts = {**intake.site.report(), **facts}
    if echo is not None:
        for line in facts["rejected"]:
            echo.print(f"skipped (invalid): {line}", markup=False, highlight=False, soft_wrap=True)
        if intake.site is not None:
            skipped = ", ".join(f"{n} {why}" for why, n in facts["skipped"].items()) or "none"
            echo.print(
                f"{intake.site.site.generator} site {intake.site.site.root}: "
                f"{len(intake.articles)} published posts, skipped: {skipped}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    path = report_path(index)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise PathError(path, "write", exc) from None
    return {"site": facts} if intake.site is not None else {"skipped_invalid": facts["rejected"]}


def load_site_report(index: Path) -> dict[str, Any]:
    """What ``info`` adds about the last build: ``{"site": ...}`` (generator, counts, skips) for
    a site, ``{"skipped_invalid": [...]}`` for other inputs built with --skip-invalid."""
    try:
        facts = json.loads(report_path(index).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(facts, dict):
        return {}
    facts.pop("skipped_files", None)
    if "generator" in facts:
        return {"site": facts}
    return {"skipped_invalid": facts["rejected"]} if facts.get("rejected") else {}
