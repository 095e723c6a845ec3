"""``recommender eval``: offline relevance figures (the ``eval`` extra).

    recommender eval lee [--set weight_lexical=0] [--dense] [--model PATH] [--json]
    recommender eval gold --index PATH --gold FILE [-k 10] [--json]

Registered on the main app (``recommender.cli.app``) as a sub-command group; heavy imports
stay inside the commands.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from recommender.cli.common import (
    ConfigOpt,
    IndexOpt,
    JsonOpt,
    SetOpt,
    check_ranking_options,
    friendly_errors,
    index_path,
    load_config,
    out,
    parse_set,
    shown,
    write_json,
)

eval_app = typer.Typer(
    name="eval",
    help="Offline evaluation: Lee50 correlations and your own gold set.",
    no_args_is_help=True,
    add_completion=False,
)


def dense_only() -> dict[str, float]:
    """Every weight but the dense similarity's at 0 (whatever weights the ranker has)."""
    from recommender.ranking import RankingSettings

    return {
        f.name: 0.0
        for f in dataclasses.fields(RankingSettings)
        if f.name.startswith("weight_") and f.name != "weight_similarity"
    }


def _weights(settings: dict[str, Any]) -> str:
    return ", ".join(
        f"{k.removeprefix('weight_')}={v:g}" for k, v in settings.items() if k.startswith("weight_")
    )


@eval_app.command("lee")
@friendly_errors
def lee(
    settings: list[str] | None = SetOpt,
    dense: bool = typer.Option(
        False, "--dense", help="Dense similarity only: every other ranking weight set to 0."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Local sentence-transformers folder (default: packaged MiniLM)."
    ),
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Lee50: correlation of the engine's pair scores with human ratings (1,225 pairs)."""
    from recommender.evaluation import require

    for module in ("gensim", "ranx", "scipy"):
        require(module)
    from recommender.evaluation.runs import evaluate_lee

    # Precedence: recommender.toml's [ranking] < --dense < --set.
    cfg = load_config(config)
    options = {
        **(cfg.ranking if cfg is not None else {}),
        **(dense_only() if dense else {}),
        **parse_set(settings),
    }
    check_ranking_options(options)
    report = evaluate_lee(model=model, options=options)
    if as_json:
        write_json(report.to_dict(), indent=2)
        return
    f = report.figures
    table = Table(title="Lee50: engine pair scores vs mean human ratings", title_justify="left")
    table.add_column("metric")
    table.add_column("engine", justify="right")
    table.add_column("published reference", justify="left")
    refs = ", ".join(f"{name} {value:.2f}" for name, value in report.reference_pearson.items())
    table.add_row("Pearson (primary)", f"{f['pearson']:.3f}", refs)
    table.add_row("Spearman", f"{f['spearman']:.3f}", "")
    table.add_row("nDCG@5", f"{f['ndcg@5']:.3f}", "")
    table.add_row("nDCG@10", f"{f['ndcg@10']:.3f}", "")
    out.print(table)
    out.print(
        f"{int(f['pairs'])} pairs, {int(f['missing_pairs'])} unscored; model {report.model}; "
        f"weights {_weights(report.settings)}; "
        f"overrides {report.options or 'none'}; {report.seconds:.1f} s",
        highlight=False,
    )


@eval_app.command("gold")
@friendly_errors
def gold(
    index: Path | None = IndexOpt,
    gold_file: Path = typer.Option(..., "--gold", help="Gold JSONL (id, related) or CSV pairs."),
    k: int = typer.Option(10, "-k", "--k", min=1, help="List length evaluated."),
    settings: list[str] | None = SetOpt,
    near_duplicate: float = typer.Option(
        0.92, "--near-duplicate", help="Cosine at which two articles count as one story."
    ),
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Your gold set: recall@k, nDCG@k, MRR, and properties of every article's list."""
    from recommender.evaluation import require

    for module in ("ranx", "scipy"):
        require(module)
    from recommender.engine import Engine
    from recommender.evaluation.gold import load_gold
    from recommender.evaluation.runs import evaluate_gold

    options = parse_set(settings)
    check_ranking_options(options)
    index = index_path(index)
    engine = Engine.load(index, config=load_config(config))
    try:
        gold_set = load_gold(gold_file, known_ids=engine)
        report = evaluate_gold(engine, gold_set, k, near_duplicate=near_duplicate, **options)
    finally:
        engine.close()
    if as_json:
        write_json(report.to_dict(), indent=2)
        return
    table = Table(
        title=f"Gold set {shown(gold_file)} ({report.sources} sources) on {shown(index)}",
        title_justify="left",
        show_header=False,
    )
    for name, value in report.figures.items():
        label = "MRR (top-k lists)" if name == "mrr" else name
        table.add_row(label, f"{value:.3f}")
    p = report.properties
    table.add_row("catalog coverage", f"{p.coverage:.1%} of {p.catalog_size}")
    table.add_row(
        "median age (days from source)",
        "n/a" if p.median_age_days is None else f"{p.median_age_days:.1f}",
    )
    table.add_row(
        "intra-list similarity",
        "n/a" if p.intra_list_similarity is None else f"{p.intra_list_similarity:.3f}",
    )
    table.add_row(
        f"lists with a near-duplicate (cos >= {p.near_duplicate_threshold:g})",
        f"{p.near_duplicate_share:.1%}",
    )
    table.add_row(
        "results in the source's category",
        "n/a" if p.same_category_share is None else f"{p.same_category_share:.1%}",
    )
    out.print(table)
    out.print(
        f"list properties over all {p.lists} articles' top-{k} lists; "
        f"weights {_weights(report.settings)}; overrides {report.options or 'none'}",
        highlight=False,
    )
