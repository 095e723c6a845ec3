"""Commands that write an index: ``build``, ``upsert``, ``remove`` and ``reindex``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from recommender.cli.common import (
    ConfigOpt,
    IndexOpt,
    JsonOpt,
    RayCommand,
    WaitOpt,
    err,
    friendly_errors,
    index_path,
    load_config,
    out,
    parse_set,
    print_build_summary,
    ray_option,
    shown,
    write_json,
)

if TYPE_CHECKING:
    from recommender.articles import Article
    from recommender.engine import UpdateReport
    from recommender.intake import Intake

InputsArg = typer.Argument(
    ...,
    help="A Hugo or Jekyll site root, or files, folders or URLs: JSONL, JSON, CSV, Markdown,"
    " WordPress export (WXR), RSS/Atom feed, HTML pages or sitemap.xml (the format is detected"
    " from the content).",
)
FormatOpt = typer.Option(
    None,
    "--format",
    "-f",
    help="Read every input as: jsonl, json, csv, markdown, wxr, feed, html or sitemap.",
)
FollowOpt = typer.Option(
    False,
    "--follow-symlinks",
    help="Read symbolic links in input folders that lead out of the folder (refused otherwise).",
)
PagesOpt = typer.Option(
    False, "--include-pages", help="WordPress export: index published pages too, not only posts."
)
RayOpt = ray_option(
    "Embed on Ray (extra 'ray'): alone, a local Ray; or a cluster, e.g. --ray=auto,"
    " --ray=ray://head:10001. Put it after the inputs."
)
RayWorkersOpt = typer.Option(
    None, "--ray-workers", min=1, help="Ray embedding workers (default: one per CPU, or GPU)."
)


def ray_encoder(address: str | None, model: str | None, workers: int | None) -> Any:
    """The Ray encoder for ``--ray``, or None (embed in this process)."""
    if address is None:
        return None
    from recommender.distributed import RayEncoder

    return RayEncoder(model, address=address, workers=workers)


def read_inputs(
    inputs: list[str],
    index: Path | None,
    options: tuple[str | None, bool, bool],
    skip_invalid: bool = False,
) -> tuple[Intake, tuple[Article, ...], Path]:
    """Every input read with one contract (a site root as its generator reads it): the intake,
    the articles to index, and the index path; what was skipped on purpose is said on stderr."""
    from recommender.sitebuild import gather_for_build
    from recommender.sources import ReadOptions

    read = ReadOptions(format=options[0], include_pages=options[1], follow_symlinks=options[2])
    intake, articles, index = gather_for_build(inputs, index, skip_invalid=skip_invalid, read=read)
    for line in intake.skipped_summary():
        err.print(f"Skipped {shown(line)}", highlight=False, soft_wrap=True)
    return intake, articles, index


def print_update(verb: str, report: UpdateReport) -> None:
    if report.version_path is None:
        out.print(
            f"Nothing to change in {shown(report.index_path)}: it stays at generation "
            f"{report.generation} ({report.article_count} articles)."
        )
        return
    out.print(
        f"[bold]{verb}[/bold] {shown(report.index_path)}: {report.read} read, {report.new} new, "
        f"{report.changed} changed, {report.unchanged} unchanged, {report.removed} removed, "
        f"{report.embedded} embedded ({report.cached} from the cache), in {report.seconds:.1f} s; "
        f"now {report.article_count} articles, generation {report.generation} "
        f"({report.index.summary()})"
    )


@friendly_errors
def build(
    inputs: list[str] = InputsArg,
    index: Path | None = IndexOpt,
    input_format: str | None = FormatOpt,
    include_pages: bool = PagesOpt,
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
    refit_drift: float = typer.Option(
        0.2,
        "--refit-drift",
        min=0.0,
        help="Upserts and removes keep the corpus statistics (idf) fixed, so stored lists stay"
        " valid, until the articles written since the fit exceed this share of it (then they"
        " refit, ranking every list again). 0: refit at every write.",
    ),
    ray: str | None = RayOpt,
    ray_workers: int | None = RayWorkersOpt,
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Build from the valid inputs and list the rejected ones."
    ),
    follow_symlinks: bool = FollowOpt,
) -> None:
    """Read articles, embed them, and write an index (atomically replacing the old one).

    The config's [ranking] and [rules] are stored with the index as its defaults. Given a Hugo
    or Jekyll site root, reads the site as its generator does (published posts, their URLs) and
    keeps the index in SITE_ROOT/.recommender/index. Every rejected input is reported at once,
    and nothing is written unless --skip-invalid.
    """
    from recommender.engine import Engine
    from recommender.sitebuild import save_site_report
    from recommender.storage.index import DEFAULT_EXACT_MAX

    intake, articles, index = read_inputs(
        inputs, index, (input_format, include_pages, follow_symlinks), skip_invalid=skip_invalid
    )
    report = Engine.build(
        articles,
        index,
        model=model,
        encoder=ray_encoder(ray, model, ray_workers),
        cache=not no_cache,
        config=load_config(config),
        index_type=index_type,
        index_params=parse_set(index_params, what="--index-param"),
        exact_max=DEFAULT_EXACT_MAX if exact_max is None else exact_max,
        lock_wait=wait,
        precompute=precompute,
        refit_drift=refit_drift,
    )
    if not as_json:
        save_site_report(intake, index, echo=err)
        print_build_summary(report, to=out)
        return
    write_json({**report.to_dict(), **save_site_report(intake, index)})


@friendly_errors
def upsert(
    inputs: list[str] = InputsArg,
    index: Path | None = IndexOpt,
    input_format: str | None = FormatOpt,
    include_pages: bool = PagesOpt,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not reuse cached embeddings."),
    wait: float = WaitOpt,
    as_json: bool = JsonOpt,
    ray: str | None = RayOpt,
    ray_workers: int | None = RayWorkersOpt,
    follow_symlinks: bool = FollowOpt,
) -> None:
    """Add new articles and replace changed ones (same id) in an existing index.

    Only new or changed texts are embedded; everything else is taken from the current version.
    The new version replaces the old one atomically.
    """
    from recommender.engine import Engine

    _, articles, index = read_inputs(inputs, index, (input_format, include_pages, follow_symlinks))
    encoder = None
    if ray is not None:
        from recommender.storage import versions

        model = versions.read_manifest(versions.resolve_version(index), verify=False).model_name
        encoder = ray_encoder(ray, model, ray_workers)
    report = Engine.upsert(articles, index, encoder=encoder, cache=not no_cache, lock_wait=wait)
    if as_json:
        write_json(report.to_dict())
    else:
        print_update("Upserted", report)


@friendly_errors
def remove(
    article_ids: list[str] = typer.Argument(..., metavar="ID...", help="Ids to remove."),
    index: Path | None = IndexOpt,
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

    report = Engine.remove(article_ids, index_path(index), missing_ok=missing_ok, lock_wait=wait)
    if report.not_found:
        err.print(f"warning: {report.not_found} of the ids given were not in the index")
    if as_json:
        write_json(report.to_dict())
    else:
        print_update("Removed from", report)


@friendly_errors
def reindex(
    index: Path | None = IndexOpt,
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
    from recommender.storage.index import DEFAULT_EXACT_MAX

    report = Engine.reindex(
        index_path(index),
        index_type=index_type,
        index_params=parse_set(index_params, what="--index-param"),
        exact_max=DEFAULT_EXACT_MAX if exact_max is None else exact_max,
        lock_wait=wait,
    )
    if as_json:
        write_json(report.to_dict())
    else:
        out.print(
            f"[bold]Reindexed[/bold] {shown(report.index_path)}: {report.article_count} articles,"
            f" {report.index.summary()}, generation {report.generation}, "
            f"in {report.seconds:.1f} s"
        )


def register(app: typer.Typer) -> None:
    app.command(cls=RayCommand)(build)
    app.command(cls=RayCommand)(upsert)
    app.command()(remove)
    app.command()(reindex)
