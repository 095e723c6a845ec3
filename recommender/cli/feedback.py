"""CLI commands that learn from readers (``recommender/feedback/``):

    recommender events export --index PATH --out FILE(.jsonl|.parquet)
    recommender eval clicks --index PATH --out FOLDER [--json]
    recommender eval interleaving --index PATH [--experiment NAME] [--json]
    recommender tune --index PATH (--gold FILE | --clicks) [--out recommender.tuned.toml]

Registered by :func:`register` (``recommender.cli.app``); heavy imports stay inside the
commands.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.table import Table

from recommender.cli.common import (
    ConfigOpt,
    IndexOpt,
    JsonOpt,
    friendly_errors,
    index_path,
    load_config,
    out,
    write_json,
)
from recommender.cli.eval import eval_app

events_app = typer.Typer(
    name="events",
    help="Reader events (impressions, clicks) recorded by `recommender serve`.",
    no_args_is_help=True,
    add_completion=False,
)


@friendly_errors
def export_events(
    index: Path | None = IndexOpt,
    target: Path = typer.Option(..., "--out", "-o", help="JSON lines file, or .parquet."),
) -> None:
    """Write every recorded event, one a line with its type (impression or click)."""
    index = index_path(index)
    from recommender.feedback.events import events_path, export_events

    count = export_events(index, target)
    sys.stderr.write(f"Exported {count} events from {events_path(index)} to {target}\n")


@friendly_errors
def clicks(
    index: Path | None = IndexOpt,
    folder: Path = typer.Option(
        Path("click-report"), "--out", "-o", help="Report folder (JSON, Markdown, PNG plots)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Click-through by position, section and age (Wilson intervals), coverage, plots."""
    index = index_path(index)
    from recommender.engine import Engine
    from recommender.feedback.clicks import click_report, write_report
    from recommender.feedback.events import load_events

    engine = Engine.load(index)
    try:
        report = click_report(engine, load_events(index))
    finally:
        engine.close()
    files = write_report(report, folder)
    if as_json:
        write_json(report.to_dict(), indent=2)
        return
    table = Table(title=f"CTR by position ({report.impressions} impressions)", title_justify="left")
    for column in ("position", "shown", "clicks", "CTR", "95% Wilson"):
        table.add_column(column, justify="right")
    for r in report.by_position:
        table.add_row(
            r.label, str(r.shown), str(r.clicks), f"{r.ctr:.2%}", f"{r.low:.2%}-{r.high:.2%}"
        )
    out.print(table)
    out.print(
        f"overall CTR {report.overall.ctr:.2%}; clicked {report.clicked_articles} of"
        f" {report.catalog_size} articles ({report.clicked_coverage:.1%});"
        f" report: {files[1]} and {len(files) - 2} plots in {folder}",
        highlight=False,
    )


@friendly_errors
def interleaving(
    index: Path | None = IndexOpt,
    experiment: str | None = typer.Option(
        None, "--experiment", "-e", help="Experiment name (default: every interleaved impression)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Which of the two experiment configurations readers prefer (team-draft interleaving)."""
    index = index_path(index)
    from recommender.feedback.events import load_events
    from recommender.feedback.interleaving import attribute, report

    result = report(attribute(load_events(index), experiment), experiment)
    if as_json:
        write_json(result.to_dict(), indent=2)
        return
    if result.impressions == 0:
        out.print("No interleaved impressions recorded yet (is [experiment] configured?).")
        return
    verdict = (
        f"readers prefer configuration {result.preferred.upper()}"
        if result.preferred
        else "no significant preference yet"
    )
    out.print(
        f"{result.impressions} interleaved impressions, {result.with_clicks} with clicks:"
        f" A won {result.wins_a}, B won {result.wins_b}, {result.ties} ties."
        f"\nSign test p = {result.p_value:.4g}: {verdict}.",
        highlight=False,
    )
    if result.preferred is None:
        if result.still_needed is None:
            out.print(
                "Too early to plan: the data cannot yet tell a difference from none;"
                " collect more clicks.",
                highlight=False,
            )
        else:
            out.print(
                f"Observed win rate of A {result.win_rate_a:.1%}. Planning for the smallest"
                f" difference the data support, about {result.still_needed} more impressions"
                f" are needed ({result.needed_impressions} in all; 95% power at p < 0.05).",
                highlight=False,
            )


@friendly_errors
def tune(
    index: Path | None = IndexOpt,
    gold: Path | None = typer.Option(None, "--gold", help="Learn from a gold file (JSONL/CSV)."),
    from_clicks: bool = typer.Option(False, "--clicks", help="Learn from recorded click events."),
    target: Path = typer.Option(
        Path("recommender.tuned.toml"), "--out", "-o", help="Where to write the learned settings."
    ),
    folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds (by source)."),
    k: int = typer.Option(10, "-k", "--k", min=1, help="List length for the gold nDCG."),
    position_bias: float | None = typer.Option(
        None,
        "--position-bias",
        help="Assume examination = position ** -ETA instead of estimating it from swaps.",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Learn ranking weights and half-life from evidence; writes a TOML file to review."""
    index = index_path(index)
    from recommender.engine import Engine
    from recommender.errors import SettingsError
    from recommender.feedback import tune as tuning

    if (gold is None) == (not from_clicks):
        raise SettingsError("give exactly one of --gold FILE or --clicks")
    if target.exists() and not force:
        raise SettingsError(f"{target} exists: choose another --out or pass --force")
    engine = Engine.load(index, config=load_config(config))
    try:
        if gold is not None:
            from recommender.evaluation.gold import load_gold

            gold_set = load_gold(gold, known_ids=engine)
            result = tuning.tune_from_gold(
                engine, gold_set.as_dict(), k=k, folds=folds, copy_of=gold_set.copy_of()
            )
        else:
            from recommender.feedback.events import load_events

            events = load_events(index)
            result = tuning.tune_from_clicks(
                engine, events, folds=folds, position_bias=position_bias
            )
    finally:
        engine.close()
    target.write_text(result.to_toml(), encoding="utf-8")
    if as_json:
        write_json({**result.to_dict(), "out": str(target)}, indent=2)
        return
    table = Table(title=f"Held-out {result.metric} by fold", title_justify="left")
    for column in ("fold", "sources", "current", "learned"):
        table.add_column(column, justify="right")
    for n, fold in enumerate(result.folds, start=1):
        table.add_row(str(n), str(fold["sources"]), f"{fold['before']:.4f}", f"{fold['after']:.4f}")
    table.add_row("mean", "", f"{result.before:.4f}", f"{result.after:.4f}")
    out.print(table)
    learned = ", ".join(f"{name}={value:.3g}" for name, value in result.settings.items())
    sys.stdout.write(f"Learned: {learned}\nWritten to {target}\n")
    sys.stdout.write(
        "Not applied: review the file, then copy its [ranking] into recommender.toml.\n"
    )


def register(app: typer.Typer) -> None:
    """``events export`` and ``tune`` on ``app``; ``eval clicks`` and ``eval interleaving``
    on the ``eval`` group."""
    events_app.command("export")(export_events)
    eval_app.command("clicks")(clicks)
    eval_app.command("interleaving")(interleaving)
    app.add_typer(events_app, name="events")
    app.command("tune")(tune)
