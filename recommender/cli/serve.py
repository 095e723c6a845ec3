"""Commands that deliver recommendations to sites: ``serve`` (HTTP API + widget) and
``export`` (static files)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from recommender.cli.common import (
    IndexOpt,
    RayCommand,
    config_path,
    friendly_errors,
    index_path,
    load_config,
    ray_option,
    write_json,
)

if TYPE_CHECKING:
    from recommender.export import ExportReport

SERVE_EXTRA = "the HTTP server needs the 'serve' extra: pip install 'recommender[serve]'"


def check_listen(host: str, port: int) -> None:
    """A port out of range, an unknown host or an address in use is one line, not a
    traceback from deep inside the server (checked by binding once; the server binds again)."""
    import socket

    from recommender.errors import SettingsError

    if not 1 <= port <= 65535:
        raise SettingsError(f"--port must be between 1 and 65535, got {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SettingsError(f"cannot listen on {host}:{port}: {reason}") from None


@friendly_errors
def serve(
    index: Path | None = IndexOpt,
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="recommender.toml: \\[serve], \\[ranking], \\[rules] (default: ./recommender.toml).",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", "-p", help="TCP port."),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log", help="Log requests."),
    access_log_file: Path | None = typer.Option(
        None, "--access-log-file", help="Append one JSON line per request to this file."
    ),
    workers: int = typer.Option(
        1, "--workers", "-w", min=1, help="Processes sharing the memory-mapped index."
    ),
) -> None:
    """Answer read-more requests over HTTP (and serve the widget); reloads rebuilt indexes."""
    check_listen(host, port)  # before the index and the model are loaded
    try:
        import uvicorn

        from recommender.server import create_app
    except ImportError as exc:
        names = (
            "fastapi",
            "starlette",
            "uvicorn",
            "pydantic",
            "threadpoolctl",
            "prometheus_client",
        )
        if exc.name and exc.name.split(".")[0] in names:
            sys.stderr.write(f"error: {SERVE_EXTRA}\n")
            raise typer.Exit(1) from None
        raise
    index = index_path(index)
    config = config_path(config)
    if workers > 1:
        from recommender import workers as worker_processes

        sys.stderr.write(f"Serving {index} with {workers} worker processes\n")
        worker_processes.run(
            index,
            config,
            access_log_file,
            workers,
            host=host,
            port=port,
            access_log=access_log,
            log_level="info",
        )
        return
    settings = None
    if access_log_file is not None:
        import dataclasses

        from recommender.config import ServeSettings
        from recommender.config import load_config as read_config

        base = read_config(config).serve if config else ServeSettings()
        settings = dataclasses.replace(base, access_log=str(access_log_file))
    app = create_app(index, config=config, settings=settings)
    engine = app.state.holder.get().engine
    sys.stderr.write(
        f"Serving {index} (version {engine.manifest.version_id}, {len(engine)} articles)"
        f" at http://{host}:{port}/ (docs: /docs, widget: /widget.js)\n"
    )
    uvicorn.run(app, host=host, port=port, access_log=access_log, log_level="info")


@friendly_errors
def export(
    index: Path | None = IndexOpt,
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write into (e.g. the site)."),
    format: str | None = typer.Option(
        None,
        "--format",
        "-f",
        help="json, hugo or jekyll (default: the site's generator, or json).",
    ),
    k: int = typer.Option(5, "-k", "--k", min=1, help="How many related articles each."),
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="recommender.toml: \\[ranking], \\[rules] (default: ./recommender.toml).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ray: str | None = ray_option(
        "Rank the lists the precomputed lists do not answer on Ray (extra 'ray'): alone, a"
        " local Ray; or a cluster, e.g. --ray=auto (the index path must be readable there)."
    ),
    ray_workers: int | None = typer.Option(
        None, "--ray-workers", min=1, help="Ray ranking workers (default: one per CPU)."
    ),
) -> None:
    """Write every article's read-more list as JSON files (json, Hugo or Jekyll layout).

    Into a Hugo or Jekyll site root: the site's format and index by default, and the partial
    or include the template needs, written when absent (never over an edited copy)."""
    from recommender.engine import Engine
    from recommender.errors import SettingsError
    from recommender.export import FORMATS
    from recommender.export import export as run_export
    from recommender.sites import detect, site_index
    from recommender.sites.templates import install

    site = detect(out)
    format = format or (site.generator if site else "json")
    if format not in FORMATS:
        raise SettingsError(f"unknown --format {format!r}: use one of {', '.join(FORMATS)}")
    if index is None and site is not None and site_index(out).exists():
        index = site_index(out)
    ranker = None
    if ray is not None:
        from recommender.distributed import RayRanker

        ranker = RayRanker(ray, workers=ray_workers)
    engine = Engine.load(index_path(index), config=load_config(config))
    report = run_export(engine, out, format=format, k=k, ray=ranker)
    template = install(out, format) if site is not None and format == site.generator else None
    if as_json:
        summary = {
            "out": str(report.out),
            "format": report.format,
            "articles": report.articles,
            "written": report.written,
            "unchanged": report.unchanged,
            "removed": report.removed,
            "precomputed": report.precomputed,
            "seconds": round(report.seconds, 3),
        }
        if template is not None:
            summary["template"] = {"path": str(template.path), "status": template.status}
            summary["template_line"] = template.line
        write_json(summary)
        return
    sys.stdout.write(
        f"Exported {report.articles} articles ({report.format}) to {report.out}: "
        f"{report.written} files written, {report.unchanged} unchanged, {report.removed} removed"
        f", in {report.seconds:.1f} s ({precomputed_note(report, ranker is not None)})\n"
    )
    if template is not None:
        status = "kept as you edited it" if template.status == "kept" else template.status
        sys.stdout.write(
            f"Template {template.path}: {status}. In your single-post template: {template.line}\n"
        )


def precomputed_note(report: ExportReport, ray: bool) -> str:
    """Where the lists came from, for the summary line."""
    live = report.articles - report.precomputed
    where = "on Ray" if ray else "here"
    if not live:
        return "all from the precomputed lists" + (": Ray not started" if ray else "")
    if not report.precomputed:
        return f"all ranked {where}"
    return f"{report.precomputed} from the precomputed lists, {live} ranked {where}"


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command(cls=RayCommand)(export)
