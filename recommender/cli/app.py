"""The ``recommender`` command: the typer app, with every command group registered on it."""

from __future__ import annotations

import typer

from recommender.cli import feedback, read, serve, write
from recommender.cli.common import state
from recommender.cli.eval import eval_app

app = typer.Typer(
    name="recommender",
    help="Related-article engine: build indexes and answer 'read more' queries.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _main(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
) -> None:
    state.debug = debug


write.register(app)  # build, upsert, remove, reindex
read.register(app)  # related, query, info, demo
serve.register(app)  # serve, export
app.add_typer(eval_app, name="eval")  # eval lee, eval gold
feedback.register(app)  # events export, tune, eval clicks, eval interleaving


def main() -> None:
    """Console entry point."""
    app()
