"""What every command shares: options, config lookup, ``--set`` parsing, error handling, and
printing (a table for people, ``--json`` for programs).

Imports flow one way: this module <- the command modules <- ``app``. Heavy imports (numpy,
faiss, the engine, sentence-transformers) happen inside functions so ``--help`` is instant.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand

from recommender.terminal import printable

if TYPE_CHECKING:
    from recommender.config import Config
    from recommender.engine import BuildReport, Engine

out = Console()
err = Console(stderr=True)


class State:
    """Global flags of one invocation (set by the app's callback)."""

    debug = False


state = State()

IndexOpt = typer.Option(
    None,
    "--index",
    "-i",
    help="Index folder (default: .recommender/index at a site root, else indexes/default).",
)
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
SetOpt = typer.Option(
    None,
    "--set",
    "-s",
    metavar="NAME=VALUE",
    help="Ranking option for this call, e.g. --set same_category_only=true (repeatable).",
)
DEFAULT_CONFIG = Path("recommender.toml")

F = TypeVar("F", bound=Callable[..., Any])


# ---------------------------------------------------------------------- errors
def friendly_errors(func: F) -> F:
    """A user error (:class:`~recommender.errors.RecommenderError`) becomes one line on stderr
    and exit status 1 (its traceback with ``--debug``); any other exception is a bug and keeps
    its traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from recommender.errors import USER_ERRORS

        try:
            return func(*args, **kwargs)
        except USER_ERRORS as exc:
            if state.debug:
                raise
            sys.stderr.write(f"error: {one_line(str(exc))}\n")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


# ---------------------------------------------------------------------- options
def parse_set(items: list[str] | None, what: str = "--set") -> dict[str, Any]:
    """``name=value`` pairs; values are read as TOML (true, 30, 0.5, ["a", "b"]) or strings."""
    from recommender._toml import tomllib
    from recommender.errors import SettingsError

    options: dict[str, Any] = {}
    for item in items or []:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise SettingsError(f"{what} expects NAME=VALUE, got {item!r}")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        options[name.strip()] = tuple(value) if isinstance(value, list) else value
    return options


def check_ranking_options(options: dict[str, Any]) -> None:
    """Unknown names or bad values fail (a :class:`SettingsError`) before anything is loaded."""
    from recommender.ranking import RankingSettings

    RankingSettings().replace(**options)


def ranking_options(
    half_life: float | None, reference: str | None, sets: list[str] | None = None
) -> dict[str, Any]:
    """The ranking options of one call (``--set``, ``--half-life``, ``--recency-reference``)."""
    options: dict[str, Any] = parse_set(sets)
    if half_life is not None:
        options["half_life_days"] = half_life
    if reference is not None:
        options["recency_reference"] = reference
    check_ranking_options(options)
    return options


def config_path(path: Path | None) -> Path | None:
    """``--config``, else ./recommender.toml when there is one."""
    if path is None and DEFAULT_CONFIG.exists():
        return DEFAULT_CONFIG
    return path


def load_config(path: Path | None) -> Config | None:
    """The config of :func:`config_path`, read and validated (None without one)."""
    from recommender.config import load_config as read_config

    found = config_path(path)
    return read_config(found) if found is not None else None


def index_path(index: Path | None) -> Path:
    """``--index``, else the site's own index when run from a site root that has one
    (``.recommender/index``), else ``indexes/default``."""
    from recommender.sites import default_index

    return index if index is not None else default_index()


def load_engine(index: Path | None, **kwargs: Any) -> Engine:
    from recommender.engine import Engine

    return Engine.load(index_path(index), **kwargs)


# ---------------------------------------------------------------------- printing
def shown(text: object) -> str:
    """Text from articles or paths as a table shows it: escape sequences, control and bidi
    characters removed (:func:`recommender.terminal.printable`) and rich markup escaped, so
    the text prints as it is and cannot steer the terminal."""
    return escape(printable(text))


def one_line(text: str) -> str:
    """An error message on one line, whatever control characters it holds."""
    return " ".join(printable(text).split())


def write_json(data: Any, *, indent: int | None = None, ensure_ascii: bool = True) -> None:
    """``--json`` output: one JSON document on stdout."""
    from recommender import safejson  # never NaN or Infinity

    sys.stdout.write(safejson.dumps(data, indent=indent, ensure_ascii=ensure_ascii) + "\n")


def print_build_summary(report: BuildReport, *, to: Console) -> None:
    to.print(
        f"[bold]Built[/bold] {shown(report.index_path)}: {report.read} articles read, "
        f"{report.embedded} embedded, {report.cached} from the cache, {report.rejected} rejected, "
        f"in {report.seconds:.1f} s ({shown(report.model)}, dimension {report.dimension}, "
        f"{report.index.summary()}, generation {report.generation})"
    )
    if report.embedded == 0:
        to.print("Nothing to embed: every article's text was already in the cache.")


class RayCommand(TyperCommand):
    """A command whose ``--ray`` takes an optional address: ``--ray`` alone (last, or before
    another option) means ``--ray=local``. Typer drops click's ``flag_value``, so the
    arguments are rewritten before parsing."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        rewritten = [
            f"{arg}={LOCAL_RAY}"
            if arg == "--ray" and (i + 1 == len(args) or args[i + 1].startswith("-"))
            else arg
            for i, arg in enumerate(args)
        ]
        return super().parse_args(ctx, rewritten)


LOCAL_RAY = "local"


def ray_option(help: str) -> Any:
    """``--ray [ADDRESS]``: see :class:`RayCommand`."""
    return typer.Option(None, "--ray", metavar="[ADDRESS]", help=help)
