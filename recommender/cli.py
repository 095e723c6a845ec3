"""The command line: parse, call the engine, print (a table for people, ``--json`` for programs).

Heavy imports (torch, faiss) happen inside commands so ``--help`` is instant.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from recommender.engine import BuildReport, Engine, UpdateReport
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
ReferenceOpt = typer.Option(
    None, "--recency-reference", help="Measure age against 'source' or 'now'."
)
ExcludeOpt = typer.Option(None, "--exclude", "-x", help="Ids not to return (repeatable).")
ConfigOpt = typer.Option(
    None,
    "--config",
    "-c",
    help=(
        "recommender.toml with \\[ranking] and \\[rules] sections"
        " (default: ./recommender.toml if present)."
    ),
)
WaitOpt = typer.Option(
    0.0,
    "--wait",
    min=0.0,
    metavar="SECONDS",
    help="If another process is writing this index, wait up to this long for it.",
)
RayOpt = typer.Option(
    None,
    "--ray",
    is_flag=False,
    flag_value="local",
    metavar="[ADDRESS]",
    help="Embed on Ray (extra 'ray'): alone, a local Ray; or a cluster, e.g. --ray=auto,"
    " --ray=ray://head:10001. Put it after the inputs.",
)
RayWorkersOpt = typer.Option(
    None, "--ray-workers", min=1, help="Ray embedding workers (default: one per CPU, or GPU)."
)


def _ray_encoder(address: str | None, model: str | None, workers: int | None) -> Any:
    """The Ray encoder for ``--ray``, or None (embed here)."""
    if address is None:
        return None
    from recommender.distributed import RayEncoder

    return RayEncoder(model, address=address, workers=workers)


SetOpt = typer.Option(
    None,
    "--set",
    "-s",
    metavar="NAME=VALUE",
    help="Ranking option for this call, e.g. --set same_category_only=true (repeatable).",
)
DEFAULT_CONFIG = Path("recommender.toml")


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


def parse_set(items: list[str] | None, what: str = "--set") -> dict[str, Any]:
    """``name=value`` pairs; values are read as TOML (true, 30, 0.5, ["a", "b"]) or strings."""
    import tomllib

    options: dict[str, Any] = {}
    for item in items or []:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{what} expects NAME=VALUE, got {item!r}")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        options[name.strip()] = tuple(value) if isinstance(value, list) else value
    return options


def _config(path: Path | None) -> Any:
    from recommender.config import load_config

    if path is None:
        return load_config(DEFAULT_CONFIG) if DEFAULT_CONFIG.exists() else None
    return load_config(path)


def _ranking_options(
    half_life: float | None, reference: str | None, sets: list[str] | None = None
) -> dict[str, Any]:
    options: dict[str, Any] = parse_set(sets)
    if half_life is not None:
        options["half_life_days"] = half_life
    if reference is not None:
        options["recency_reference"] = reference
    return options


def _print_summary(report: BuildReport, *, to: Console) -> None:
    to.print(
        f"[bold]Built[/bold] {report.index_path}: {report.read} articles read, "
        f"{report.embedded} embedded, {report.cached} from the cache, {report.rejected} rejected, "
        f"in {report.seconds:.1f} s ({report.model}, dimension {report.dimension}, "
        f"{_describe_index(report.index)}, generation {report.generation})"
    )
    if report.embedded == 0:
        to.print("Nothing to embed: every article's text was already in the cache.")


def _describe_index(index: dict[str, Any]) -> str:
    text = f"{index.get('type', '?')} index"
    if index.get("dead"):
        text += f", {index['dead']} tombstoned slots"
    return text


def _update_json(report: UpdateReport) -> str:
    data = {
        "index": str(report.index_path),
        "generation": report.generation,
        "written": report.version_path is not None,
        **{
            key: getattr(report, key)
            for key in (
                "read",
                "new",
                "changed",
                "unchanged",
                "removed",
                "not_found",
                "embedded",
                "cached",
                "article_count",
            )
        },
        "seconds": round(report.seconds, 3),
        "index_type": report.index.get("type"),
        "timings": report.timings,
    }
    return json.dumps(data) + "\n"


def _print_update(verb: str, report: UpdateReport) -> None:
    if report.version_path is None:
        out.print(
            f"Nothing to change in {report.index_path}: it stays at generation "
            f"{report.generation} ({report.article_count} articles)."
        )
        return
    out.print(
        f"[bold]{verb}[/bold] {report.index_path}: {report.read} read, {report.new} new, "
        f"{report.changed} changed, {report.unchanged} unchanged, {report.removed} removed, "
        f"{report.embedded} embedded ({report.cached} from the cache), in {report.seconds:.1f} s; "
        f"now {report.article_count} articles, generation {report.generation} "
        f"({_describe_index(report.index)})"
    )


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
    table.add_column("why", ratio=2)
    for n, r in enumerate(results, start=1):
        date = r.article.published_at.date().isoformat() if r.article.published_at else ""
        table.add_row(
            str(n),
            f"{escape(r.title)}\n[dim]{escape(r.id)}[/dim]",
            date,
            r.article.category or "",
            f"{r.score:.3f}",
            escape(explain(r.why)),
        )
    out.print(table)


def explain(why: dict[str, Any]) -> str:
    """One short line a person can read: the components that counted, and what acted."""
    parts = [
        f"{name[:3]} {value:+.2f}"
        for name, value in why.get("contributions", {}).items()
        if abs(value) >= 0.005
    ]
    if why.get("shared_terms"):
        parts.append("terms: " + ", ".join(why["shared_terms"][:3]))
    if why.get("shared_tags"):
        parts.append("tags: " + ", ".join(why["shared_tags"][:3]))
    for key in ("fallback", "rules", "collapsed"):
        if why.get(key):
            value = why[key]
            parts.append(f"{key}: {', '.join(value) if isinstance(value, list) else value}")
    return "; ".join(parts)


def _load(index: Path, **kwargs: Any) -> Engine:
    from recommender.engine import Engine

    return Engine.load(index, **kwargs)


@app.command()
@friendly_errors
def build(
    inputs: list[Path] = typer.Argument(..., help="JSONL, CSV, JSON or Markdown files/folders."),
    index: Path = IndexOpt,
    model: str | None = typer.Option(
        None, "--model", help="Local sentence-transformers folder (default: packaged MiniLM)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Embed everything again."),
    index_type: str = typer.Option(
        "auto",
        "--index-type",
        help="auto (exact up to --exact-max articles, hnsw above), flat-ip, hnsw or ivf.",
    ),
    index_params: list[str] | None = typer.Option(
        None,
        "--index-param",
        metavar="NAME=VALUE",
        help="Vector index parameter, e.g. --index-param M=32 --index-param ef_search=128.",
    ),
    exact_max: int | None = typer.Option(
        None,
        "--exact-max",
        min=0,
        help="Largest index that 'auto' keeps exact (default 50000).",
    ),
    config: Path | None = ConfigOpt,
    wait: float = WaitOpt,
    as_json: bool = JsonOpt,
    precompute: bool = typer.Option(
        True,
        "--precompute/--no-precompute",
        help="Store every article's read-more list with each version (fast default answers).",
    ),
    ray: str | None = RayOpt,
    ray_workers: int | None = RayWorkersOpt,
) -> None:
    """Read articles, embed them, and write an index (atomically replacing the old one).

    The config's [ranking] and [rules] are stored with the index as its defaults.
    """
    from recommender.engine import Engine
    from recommender.index import DEFAULT_EXACT_MAX
    from recommender.loaders import load_articles

    articles = load_articles(inputs)
    report = Engine.build(
        articles,
        index,
        model=model,
        encoder=_ray_encoder(ray, model, ray_workers),
        cache=not no_cache,
        config=_config(config),
        index_type=index_type,
        index_params=parse_set(index_params, what="--index-param"),
        exact_max=DEFAULT_EXACT_MAX if exact_max is None else exact_max,
        lock_wait=wait,
        precompute=precompute,
    )
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
            "generation": report.generation,
            "index_type": report.index.get("type"),
        }
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        _print_summary(report, to=out)


@app.command()
@friendly_errors
def upsert(
    inputs: list[Path] = typer.Argument(..., help="JSONL, CSV, JSON or Markdown files/folders."),
    index: Path = IndexOpt,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not reuse cached embeddings."),
    wait: float = WaitOpt,
    as_json: bool = JsonOpt,
    ray: str | None = RayOpt,
    ray_workers: int | None = RayWorkersOpt,
) -> None:
    """Add new articles and replace changed ones (same id) in an existing index.

    Only new or changed texts are embedded; everything else is taken from the current version.
    The new version replaces the old one atomically.
    """
    from recommender.engine import Engine
    from recommender.loaders import load_articles

    encoder = None
    if ray is not None:
        from recommender import persistence

        folder = persistence.resolve_version(index)
        model = persistence.read_manifest(folder, verify=False).model_name
        encoder = _ray_encoder(ray, model, ray_workers)
    report = Engine.upsert(
        load_articles(inputs), index, encoder=encoder, cache=not no_cache, lock_wait=wait
    )
    if as_json:
        sys.stdout.write(_update_json(report))
    else:
        _print_update("Upserted", report)


@app.command()
@friendly_errors
def remove(
    article_ids: list[str] = typer.Argument(..., metavar="ID...", help="Ids to remove."),
    index: Path = IndexOpt,
    missing_ok: bool = typer.Option(
        False, "--missing-ok", help="Skip ids that are not in the index (warn) instead of failing."
    ),
    wait: float = WaitOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Remove articles by id: they vanish from every list in the new version.

    An unknown id is an error that names it, and nothing is removed (unless --missing-ok).
    """
    from recommender.engine import Engine

    report = Engine.remove(article_ids, index, missing_ok=missing_ok, lock_wait=wait)
    if report.not_found:
        err.print(f"warning: {report.not_found} of the ids given were not in the index")
    if as_json:
        sys.stdout.write(_update_json(report))
    else:
        _print_update("Removed from", report)


@app.command()
@friendly_errors
def reindex(
    index: Path = IndexOpt,
    index_type: str = typer.Option(
        "auto", "--index-type", help="auto (by size), flat-ip, hnsw or ivf."
    ),
    index_params: list[str] | None = typer.Option(
        None, "--index-param", metavar="NAME=VALUE", help="Vector index parameter (repeatable)."
    ),
    exact_max: int | None = typer.Option(
        None,
        "--exact-max",
        min=0,
        help="Largest index that 'auto' keeps exact (default 50000).",
    ),
    wait: float = WaitOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Rebuild only the vector index (another type or parameters); nothing is embedded."""
    from recommender.engine import Engine
    from recommender.index import DEFAULT_EXACT_MAX

    report = Engine.reindex(
        index,
        index_type=index_type,
        index_params=parse_set(index_params, what="--index-param"),
        exact_max=DEFAULT_EXACT_MAX if exact_max is None else exact_max,
        lock_wait=wait,
    )
    if as_json:
        sys.stdout.write(_update_json(report))
    else:
        out.print(
            f"[bold]Reindexed[/bold] {report.index_path}: {report.article_count} articles, "
            f"{_describe_index(report.index)}, generation {report.generation}, "
            f"in {report.seconds:.1f} s"
        )


@app.command()
@friendly_errors
def related(
    article_id: str = typer.Argument(..., metavar="ID", help="Id of an indexed article."),
    index: Path = IndexOpt,
    k: int = KOpt,
    exclude: list[str] | None = ExcludeOpt,
    half_life: float | None = HalfLifeOpt,
    recency_reference: str | None = ReferenceOpt,
    sets: list[str] | None = SetOpt,
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The read-more list for an indexed article."""
    engine = _load(index, config=_config(config))
    options = _ranking_options(half_life, recency_reference, sets)
    results = engine.related(article_id, k=k, exclude=exclude or (), **options)
    source = engine.article(article_id)
    _print_results(article_id, source.title, results, as_json)


@app.command()
@friendly_errors
def query(
    index: Path = IndexOpt,
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
    engine = _load(index, config=_config(config))
    options = _ranking_options(half_life, recency_reference, sets)
    results = engine.query(data, k=k, exclude=exclude or (), **options)
    _print_results(None, data["title"], results, as_json)


@app.command()
@friendly_errors
def info(index: Path = IndexOpt, config: Path | None = ConfigOpt, as_json: bool = JsonOpt) -> None:
    """What is in an index: count, model, dimension, build time, size, effective settings."""
    engine = _load(index, config=_config(config))
    facts = engine.info()
    if as_json:
        sys.stdout.write(json.dumps(facts, indent=2) + "\n")
        return
    table = Table(title=f"Index {index}", title_justify="left", show_header=False)
    for key, value in facts.items():
        if key == "size_bytes":
            value = f"{value / 1e6:.2f} MB ({value} bytes)"
        elif key == "index":
            params = ", ".join(f"{k}={v}" for k, v in value.get("params", {}).items())
            shape = ", ".join(f"{k} {value[k]}" for k in ("rows", "slots", "dead") if k in value)
            value = (
                f"{value.get('type')} ({params or 'no parameters'}); {shape}; chosen by "
                f"{value.get('requested', '?')}, exact up to {value.get('exact_max', '?')}"
            )
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


# Delivery commands (HTTP API + widget, static export) live in their own module.
from recommender.cli_serve import export, serve  # noqa: E402

app.command("serve")(friendly_errors(serve))
app.command("export")(friendly_errors(export))


from recommender.cli_eval import eval_app  # noqa: E402  (it imports the helpers above)

app.add_typer(eval_app, name="eval")


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
