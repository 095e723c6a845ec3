"""``recommender eval clicks``: click-through of the shown lists, by position, section and age.

The unit is a shown link: CTR = links clicked / links shown (a repeated click on one link of
one list counts once). Every rate comes with a 95% Wilson score interval
(``scipy.stats.binomtest(...).proportion_ci(method="wilson")``), which stays inside [0, 1] and
is honest for small counts. Section and age are the *shown* article's (its age when shown).
Plots (PNG, matplotlib) go to the report folder beside ``report.json`` and ``report.md``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recommender.engine import Engine
from recommender.errors import MissingExtraError
from recommender.feedback.events import Event

AGE_BUCKETS = (
    (1, "< 1 day"),
    (7, "1-7 days"),
    (30, "1-4 weeks"),
    (90, "1-3 months"),
    (365, "3-12 months"),
    (float("inf"), "> 1 year"),
)
UNDATED = "undated"
NO_SECTION = "(none)"


@dataclass(frozen=True)
class Rate:
    label: str
    shown: int
    clicks: int
    ctr: float
    low: float
    high: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def wilson(label: str, clicks: int, shown: int) -> Rate:
    from scipy.stats import binomtest

    if shown == 0:
        return Rate(label, 0, 0, 0.0, 0.0, 1.0)
    ci = binomtest(clicks, shown).proportion_ci(confidence_level=0.95, method="wilson")
    return Rate(label, shown, clicks, clicks / shown, float(ci.low), float(ci.high))


@dataclass(frozen=True)
class ClickReport:
    impressions: int
    clicks: int
    overall: Rate
    by_position: tuple[Rate, ...]
    by_section: tuple[Rate, ...]
    by_age: tuple[Rate, ...]
    by_config: tuple[Rate, ...]
    catalog_size: int
    clicked_articles: int
    shown_articles: int

    @property
    def clicked_coverage(self) -> float:
        return self.clicked_articles / self.catalog_size if self.catalog_size else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "impressions": self.impressions,
            "clicks": self.clicks,
            "overall": self.overall.to_dict(),
            "by_position": [r.to_dict() for r in self.by_position],
            "by_section": [r.to_dict() for r in self.by_section],
            "by_age": [r.to_dict() for r in self.by_age],
            "by_config": [r.to_dict() for r in self.by_config],
            "catalog_size": self.catalog_size,
            "clicked_articles": self.clicked_articles,
            "shown_articles": self.shown_articles,
            "clicked_coverage": self.clicked_coverage,
        }


def _age_label(age_days: float | None) -> str:
    if age_days is None:
        return UNDATED
    return next(label for limit, label in AGE_BUCKETS if age_days < limit)


def click_report(engine: Engine, events: Sequence[Event]) -> ClickReport:
    clicked: defaultdict[str, set[int]] = defaultdict(set)
    for e in events:
        if e.type == "click" and e.data:
            clicked[e.impression].add(int(e.data["position"]))
    tallies: dict[str, defaultdict[str, list[int]]] = {
        k: defaultdict(lambda: [0, 0]) for k in ("position", "section", "age", "config")
    }
    meta: dict[str, tuple[str, float | None]] = {}
    seen: set[str] = set()
    clicked_ids: set[str] = set()
    shown_ids: set[str] = set()
    for e in events:
        if e.type != "impression" or e.impression in seen:
            continue
        seen.add(e.impression)
        hits = clicked.get(e.impression, set())
        for position, aid in enumerate(e.shown, start=1):
            if aid not in meta:
                meta[aid] = _meta(engine, aid)
            section, published = meta[aid]
            age = None if published is None else max(0.0, (e.minute * 60 - published) / 86400)
            hit = int(position in hits)
            for kind, key in (
                ("position", str(position)),
                ("section", section),
                ("age", _age_label(age)),
                ("config", e.config or "default"),
            ):
                tallies[kind][key][0] += 1
                tallies[kind][key][1] += hit
            shown_ids.add(aid)
            if hit:
                clicked_ids.add(aid)

    def rates(kind: str, order: Sequence[str] | None = None) -> tuple[Rate, ...]:
        table = tallies[kind]
        keys = (
            [k for k in order if k in table] if order else sorted(table, key=lambda k: -table[k][0])
        )
        return tuple(wilson(k, table[k][1], table[k][0]) for k in keys)

    total_shown = sum(v[0] for v in tallies["position"].values())
    total_clicks = sum(v[1] for v in tallies["position"].values())
    positions = sorted(tallies["position"], key=int)
    ages = [label for _, label in AGE_BUCKETS] + [UNDATED]
    return ClickReport(
        impressions=len(seen),
        clicks=total_clicks,
        overall=wilson("all", total_clicks, total_shown),
        by_position=rates("position", positions),
        by_section=rates("section"),
        by_age=rates("age", ages),
        by_config=rates("config"),
        catalog_size=len(engine),
        clicked_articles=len(clicked_ids),
        shown_articles=len(shown_ids),
    )


def _meta(engine: Engine, aid: str) -> tuple[str, float | None]:
    if aid not in engine:
        return "(not in index)", None
    article = engine.article(aid)
    published = article.published_at.timestamp() if article.published_at else None
    return article.category or NO_SECTION, published


# ---------------------------------------------------------------------------- the folder
def write_report(report: ClickReport, folder: str | Path) -> list[Path]:
    """``report.json``, ``report.md`` and one PNG per breakdown; returns the files written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingExtraError("matplotlib", "feedback") from None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "report.json", folder / "report.md"]
    written[0].write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    written[1].write_text(markdown(report), encoding="utf-8")
    for name, title, rates in (
        ("ctr_by_position", "CTR by position", report.by_position),
        ("ctr_by_section", "CTR by section", report.by_section),
        ("ctr_by_age", "CTR by age of the shown article", report.by_age),
    ):
        fig, ax = plt.subplots(figsize=(7, 3.8))
        x = range(len(rates))
        ctr = [r.ctr for r in rates]
        err = [[r.ctr - r.low for r in rates], [r.high - r.ctr for r in rates]]
        ax.bar(x, ctr, yerr=err, capsize=4, color="#4c72b0")
        ax.set_xticks(
            list(x),
            [r.label for r in rates],
            rotation=30 if len(rates) > 6 else 0,
            ha="right" if len(rates) > 6 else "center",
        )
        ax.set_ylabel("click-through rate (95% Wilson)")
        ax.set_title(f"{title} ({report.impressions} impressions)")
        fig.tight_layout()
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def markdown(report: ClickReport) -> str:
    def table(title: str, rates: Sequence[Rate]) -> list[str]:
        rows = [
            f"## {title}",
            "",
            "| | shown | clicks | CTR | 95% interval |",
            "|---|---:|---:|---:|---|",
        ]
        rows += [
            f"| {r.label} | {r.shown} | {r.clicks} | {r.ctr:.2%} | {r.low:.2%} - {r.high:.2%} |"
            for r in rates
        ]
        return [*rows, ""]

    lines = [
        "# Click-through report",
        "",
        f"{report.impressions} impressions, {report.clicks} clicks on {report.overall.shown} shown"
        f" links: CTR {report.overall.ctr:.2%}"
        f" ({report.overall.low:.2%} - {report.overall.high:.2%}).",
        f"Catalog coverage: {report.clicked_articles} of {report.catalog_size} articles clicked"
        f" ({report.clicked_coverage:.1%}), {report.shown_articles} shown.",
        "",
        *table("By position", report.by_position),
        "![CTR by position](ctr_by_position.png)",
        "",
        *table("By section of the shown article", report.by_section),
        "![CTR by section](ctr_by_section.png)",
        "",
        *table("By age of the shown article", report.by_age),
        "![CTR by age](ctr_by_age.png)",
        "",
        *table("By configuration", report.by_config),
    ]
    return "\n".join(lines)
