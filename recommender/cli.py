"""The command line: parse, call the engine, print (a table for people, ``--json`` for programs).

Heavy imports (torch, faiss) happen inside commands so ``--help`` is instant.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from recommender.engine import BuildReport, Engine
    from recommender.results import Recommendation

DEMO_ID = "russia-china-summit-video-call"

app = typer.Typer(
    name="recommender",
    help="Related-article engine: build indexes and answer 'read more' queries.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)
_state = {"debug": False}

IndexOpt = typer.Option(Path("indexes/default"), "--index", "-i", help="Index folder.")
JsonOpt = typer.Option(False, "--json", help="Print JSON for programs instead of a table.")
KOpt = typer.Option(5, "-k", "--k", min=1, help="How many related articles.")
HalfLifeOpt = typer.Option(None, "--half-life", help="Recency half-life in days.")
ReferenceOpt = typer.Option(None, "--recency-reference", help="Measure age against 'source' or 'now'.")
ExcludeOpt = typer.Option(None, "--exclude", "-x", help="Ids not to return (repeatable).")


@app.callback()
def _main(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
) -> None:
    _state["debug"] = debug


F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn expected errors into one line on stderr and exit 1 (traceback with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from recommender.errors import USER_ERRORS

        try:
            return func(*args, **kwargs)
        except USER_ERRORS as exc:
            if _state["debug"]:
                raise
            sys.stderr.write(f"error: {exc}\n")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _ranking_options(half_life: float | None, reference: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if half_life is not None:
        options["half_life_days"] = half_life
    if reference is not None:
        options["recency_reference"] = reference
    return options


def _print_summary(report: BuildReport, *, to: Console) -> None:
    to.print(
        f"[bold]Built[/bold] {report.index_path}: {report.read} articles read, "
        f"{report.embedded} embedded, {report.cached} from the cache, {report.rejected} rejected, "
        f"in {report.seconds:.1f} s ({report.model}, dimension {report.dimension})"
    )
    if report.embedded == 0:
        to.print("Nothing to embed: every article's text was already in the cache.")


def _print_results(
    source_id: str | None,
    source_title: str | None,
    results: list[Recommendation],
    as_json: bool,
) -> None:
    if as_json:
        payload = {"id": source_id, "results": [r.to_dict() for r in results]}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return
    title = f"Read more: {source_title}" if source_title else "Read more"
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("title / id", ratio=3)
    table.add_column("date")
    table.add_column("section")
    table.add_column("score", justify="right")
    table.add_column("sim + rec + cat", justify="right")
    for n, r in enumerate(results, start=1):
        c = r.why.get("contributions", {})
        date = r.article.published_at.date().isoformat() if r.article.published_at else ""
        table.add_row(
            str(n),
            f"{escape(r.title)}\n[dim]{escape(r.id)}[/dim]",
            date,
            r.article.category or "",
            f"{r.score:.3f}",
            " + ".join(f"{c.get(name, 0):.2f}" for name in ("similarity", "recency", "category")),
        )
    out.print(table)


def _load(index: Path, **kwargs: Any) -> Engine:
    from recommender.engine import Engine

    return Engine.load(index, **kwargs)


@app.command()
@friendly_errors
def build(
    inputs: list[Path] = typer.Argument(..., help="JSONL, CSV, JSON or Markdown files/folders."),
    index: Path = IndexOpt,
    model: Optional[str] = typer.Option(
        None, "--model", help="Local sentence-transformers folder (default: packaged MiniLM)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Embed everything again."),
    as_json: bool = JsonOpt,
) -> None:
    """Read articles, embed them, and write an index (atomically replacing the old one)."""
    from recommender.engine import Engine
    from recommender.loaders import load_articles

    articles = load_articles(inputs)
    report = Engine.build(articles, index, model=model, cache=not no_cache)
    if as_json:
        data = {
            "index": str(report.index_path),
            "read": report.read,
            "embedded": report.embedded,
            "cached": report.cached,
            "rejected": report.rejected,
            "seconds": round(report.seconds, 3),
            "model": report.model,
            "dimension": report.dimension,
        }
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        _print_summary(report, to=out)


@app.command()
@friendly_errors
def related(
    article_id: str = typer.Argument(..., metavar="ID", help="Id of an indexed article."),
    index: Path = IndexOpt,
    k: int = KOpt,
    exclude: Optional[list[str]] = ExcludeOpt,
    half_life: Optional[float] = HalfLifeOpt,
    recency_reference: Optional[str] = ReferenceOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The read-more list for an indexed article."""
    engine = _load(index)
    results = engine.related(
        article_id, k=k, exclude=exclude or (), **_ranking_options(half_life, recency_reference)
    )
    source = engine.article(article_id)
    _print_results(article_id, source.title, results, as_json)


@app.command()
@friendly_errors
def query(
    index: Path = IndexOpt,
    title: Optional[str] = typer.Option(None, "--title", help="Draft title."),
    body: Optional[str] = typer.Option(None, "--body", help="Draft body."),
    file: Optional[Path] = typer.Option(
        None, "--file", help="A JSON file holding one article object (a draft)."
    ),
    k: int = KOpt,
    exclude: Optional[list[str]] = ExcludeOpt,
    half_life: Optional[float] = HalfLifeOpt,
    recency_reference: Optional[str] = ReferenceOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The read-more list for an article that is not in the index (a draft)."""
    from recommender.articles import InputError

    data: dict[str, Any] = {}
    if file is not None:
        try:
            loaded = json.loads(file.read_text(encoding="utf-8"))
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
    engine = _load(index)
    results = engine.query(
        data, k=k, exclude=exclude or (), **_ranking_options(half_life, recency_reference)
    )
    _print_results(None, data["title"], results, as_json)


@app.command()
@friendly_errors
def info(index: Path = IndexOpt, as_json: bool = JsonOpt) -> None:
    """What is in an index: count, model, dimension, build time, size on disk."""
    engine = _load(index)
    facts = engine.info()
    if as_json:
        sys.stdout.write(json.dumps(facts, indent=2) + "\n")
        return
    table = Table(title=f"Index {index}", title_justify="left", show_header=False)
    for key, value in facts.items():
        if key == "size_bytes":
            value = f"{value / 1e6:.2f} MB ({value} bytes)"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        table.add_row(key, str(value))
    out.print(table)


@app.command()
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
    _print_summary(report, to=err if as_json else out)
    engine = Engine.load(index)
    source = engine.article(article_id)
    _print_results(article_id, source.title, engine.related(article_id, k=k), as_json)


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
