"""CLI commands that deliver recommendations to sites: ``serve`` (HTTP API + widget) and
``export`` (static files). Registered on the main app in ``recommender/cli.py``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import typer

SERVE_EXTRA = "the HTTP server needs the 'serve' extra: pip install 'recommender[serve]'"
DEFAULT_CONFIG = Path("recommender.toml")


def _config_path(path: Path | None) -> Path | None:
    """As the other commands: --config, else ./recommender.toml when there is one."""
    if path is None and DEFAULT_CONFIG.exists():
        return DEFAULT_CONFIG
    return path


def serve(
    index: Path = typer.Option(Path("indexes/default"), "--index", "-i", help="Index folder."),
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
    try:
        import uvicorn

        from recommender import server
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
    config = _config_path(config)
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
        from recommender.config import load_config

        loaded = load_config(config) if config else None
        base = server.serve_settings(loaded.serve) if loaded else server.ServeSettings()
        settings = dataclasses.replace(base, access_log=str(access_log_file))
    app = server.create_app(index, config=config, settings=settings)
    engine = app.state.holder.get().engine
    sys.stderr.write(
        f"Serving {index} (version {engine.manifest.version_id}, {len(engine)} articles)"
        f" at http://{host}:{port}/ (docs: /docs, widget: /widget.js)\n"
    )
    uvicorn.run(app, host=host, port=port, access_log=access_log, log_level="info")


def export(
    index: Path = typer.Option(Path("indexes/default"), "--index", "-i", help="Index folder."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write into (e.g. the site)."),
    format: str = typer.Option("json", "--format", "-f", help="json, hugo or jekyll."),
    k: int = typer.Option(5, "-k", "--k", min=1, help="How many related articles each."),
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="recommender.toml: \\[ranking], \\[rules] (default: ./recommender.toml).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Write every article's read-more list as JSON files (json, Hugo or Jekyll layout)."""
    from recommender.config import load_config
    from recommender.engine import Engine
    from recommender.export import FORMATS
    from recommender.export import export as run_export

    if format not in FORMATS:
        raise ValueError(f"unknown --format {format!r}: use one of {', '.join(FORMATS)}")
    config = _config_path(config)
    engine = Engine.load(index, config=load_config(config) if config else None)
    report = run_export(engine, out, format=format, k=k)
    if as_json:
        summary = {
            "out": str(report.out),
            "format": report.format,
            "articles": report.articles,
            "written": report.written,
            "unchanged": report.unchanged,
            "removed": report.removed,
            "seconds": round(report.seconds, 3),
        }
        sys.stdout.write(json.dumps(summary) + "\n")
        return
    sys.stdout.write(
        f"Exported {report.articles} articles ({report.format}) to {report.out}: "
        f"{report.written} files written, {report.unchanged} unchanged, {report.removed} removed"
        f", in {report.seconds:.1f} s\n"
    )
