"""Commands that read an index: ``related``, ``query``, ``info`` and ``demo``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from recommender.cli.common import (
    ConfigOpt,
    ExcludeOpt,
    HalfLifeOpt,
    IndexOpt,
    JsonOpt,
    KOpt,
    ReferenceOpt,
    SetOpt,
    err,
    friendly_errors,
    index_path,
    load_config,
    load_engine,
    out,
    print_build_summary,
    ranking_options,
    shown,
    write_json,
)

if TYPE_CHECKING:
    from recommender.results import Recommendation

DEMO_ID = "russia-china-summit-video-call"


def print_results(
    source_id: str | None,
    source_title: str | None,
    results: list[Recommendation],
    as_json: bool,
) -> None:
    """A read-more list: a table for people, ``{"id", "results"}`` JSON for programs."""
    if as_json:
        payload = {"id": source_id, "results": [r.to_dict() for r in results]}
        write_json(payload, indent=2, ensure_ascii=False)
        return
    title = f"Read more: {shown(source_title)}" if source_title else "Read more"
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("title / id", ratio=3)
    table.add_column("date")
    table.add_column("section")
    table.add_column("score", justify="right")
    table.add_column("why", ratio=2)
    for n, r in enumerate(results, start=1):
        date = r.article.published_at.date().isoformat() if r.article.published_at else ""
        table.add_row(
            str(n),
            f"{shown(r.title)}\n[dim]{shown(r.id)}[/dim]",
            date,
            shown(r.article.category or ""),
            f"{r.score:.3f}",
            shown(r.why.summary()),
        )
    out.print(table)


@friendly_errors
def related(
    article_id: str = typer.Argument(..., metavar="ID", help="Id of an indexed article."),
    index: Path | None = IndexOpt,
    k: int = KOpt,
    exclude: list[str] | None = ExcludeOpt,
    half_life: float | None = HalfLifeOpt,
    recency_reference: str | None = ReferenceOpt,
    sets: list[str] | None = SetOpt,
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The read-more list for an indexed article."""
    options = ranking_options(half_life, recency_reference, sets)
    engine = load_engine(index, config=load_config(config))
    results = engine.related(article_id, k=k, exclude=exclude or (), **options)
    source = engine.article(article_id)
    print_results(article_id, source.title, results, as_json)


def _draft(title: str | None, body: str | None, file: Path | None) -> dict[str, Any]:
    """The draft of ``query``: the ``--file`` article, then ``--title`` and ``--body``."""
    from recommender import safejson
    from recommender.errors import InputError

    data: dict[str, Any] = {}
    if file is not None:
        try:
            loaded = safejson.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read a JSON article: {exc}", source=str(file)) from None
        if not isinstance(loaded, dict):
            raise InputError("expected one JSON article object", source=str(file))
        data.update(loaded)
    if title is not None:
        data["title"] = title
    if body is not None:
        data["body"] = body
    if not data.get("title"):
        raise InputError("give --title (and --body) or --file", field="title")
    return data


@friendly_errors
def query(
    index: Path | None = IndexOpt,
    title: str | None = typer.Option(None, "--title", help="Draft title."),
    body: str | None = typer.Option(None, "--body", help="Draft body."),
    file: Path | None = typer.Option(
        None, "--file", help="A JSON file holding one article object (a draft)."
    ),
    k: int = KOpt,
    exclude: list[str] | None = ExcludeOpt,
    half_life: float | None = HalfLifeOpt,
    recency_reference: str | None = ReferenceOpt,
    sets: list[str] | None = SetOpt,
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The read-more list for an article that is not in the index (a draft)."""
    data = _draft(title, body, file)
    options = ranking_options(half_life, recency_reference, sets)
    engine = load_engine(index, config=load_config(config))
    results = engine.query(data, k=k, exclude=exclude or (), **options)
    print_results(None, data["title"], results, as_json)


def _info_value(key: str, value: Any) -> str:
    """One fact of ``info`` as the table shows it."""
    if key == "size_bytes":
        return f"{value / 1e6:.2f} MB ({value} bytes)"
    if key == "index":
        params = ", ".join(f"{k}={v}" for k, v in value.get("params", {}).items())
        shape = ", ".join(f"{k} {value[k]}" for k in ("rows", "slots", "dead") if k in value)
        return (
            f"{value.get('type')} ({params or 'no parameters'}); {shape}; chosen by "
            f"{value.get('requested', '?')}, exact up to {value.get('exact_max', '?')}"
        )
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


@friendly_errors
def info(
    index: Path | None = IndexOpt, config: Path | None = ConfigOpt, as_json: bool = JsonOpt
) -> None:
    """What is in an index: count, model, dimension, build time, size, effective settings, and
    for a site build, how many pages were skipped and why."""
    from recommender.sitebuild import load_site_report

    index = index_path(index)
    engine = load_engine(index, config=load_config(config))
    facts = engine.info().to_dict()
    facts.update(load_site_report(index))
    if as_json:
        write_json(facts, indent=2)
        return
    table = Table(title=f"Index {shown(index)}", title_justify="left", show_header=False)
    for key, value in facts.items():
        table.add_row(key, shown(_info_value(key, value)))
    out.print(table)


@friendly_errors
def demo(
    index: Path = typer.Option(Path("indexes/demo"), "--index", "-i", help="Where to build."),
    article_id: str = typer.Option(DEMO_ID, "--id", help="Article to show the list for."),
    k: int = KOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Build the bundled demo corpus (about 100 news articles) and show a read-more list."""
    from recommender.demo import demo_articles_path
    from recommender.engine import Engine
    from recommender.loaders import load_articles

    report = Engine.build(load_articles([demo_articles_path()]), index)
    print_build_summary(report, to=err if as_json else out)
    engine = Engine.load(index)
    source = engine.article(article_id)
    print_results(article_id, source.title, engine.related(article_id, k=k), as_json)


def register(app: typer.Typer) -> None:
    for command in (related, query, info, demo):
        app.command()(command)
