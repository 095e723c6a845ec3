"""Shared plumbing for the benchmark scripts (not part of the package): machine facts, the
results log, fragments and plots. Each script appends one JSON line to ``results.jsonl``,
writes ``results/<name>.md`` (+ ``results/<name>*.png``) and regenerates ``RESULTS.md``."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
LOG = HERE / "results.jsonl"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _version(module: str) -> str | None:
    try:
        mod = __import__(module)
    except ImportError:
        return None
    return str(getattr(mod, "__version__", "?"))


def machine() -> dict[str, Any]:
    """What the figures were measured on, read at run time."""
    import psutil

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cpus": cpus,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
    for module in ("numpy", "faiss", "torch", "sentence_transformers", "recommender"):
        info[module] = _version(module)
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def machine_line(info: dict[str, Any]) -> str:
    return (
        f"{info['cpu']}, {info['cpus']} CPUs, {info['ram_gib']} GiB RAM, {info['os']}; "
        f"load average at start {', '.join(str(x) for x in info['load_average'])}; "
        f"Python {info['python']}, torch {info.get('torch')} "
        f"({info.get('torch_threads', '?')} threads), faiss {info.get('faiss')}, "
        f"numpy {info.get('numpy')}, recommender {info.get('recommender')}"
    )


def git_commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            text=True,
            capture_output=True,
            check=True,
        ).stdout
        return sha + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def command_line() -> str:
    script = Path(sys.argv[0]).resolve()
    try:
        script_text = str(script.relative_to(ROOT))
    except ValueError:
        script_text = str(script)
    return " ".join([".venv/bin/python", script_text, *map(shlex.quote, sys.argv[1:])])


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def record(name: str, info: dict[str, Any], figures: dict[str, Any]) -> dict[str, Any]:
    """Append one JSON line for this run to results.jsonl and return it."""
    line = {
        "benchmark": name,
        "timestamp": now(),
        "commit": git_commit(),
        "command": command_line(),
        "machine": info,
        "figures": figures,
    }
    with LOG.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, default=_jsonable) + "\n")
    return line


def _jsonable(value: Any) -> Any:
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    except ImportError:
        pass
    return str(value)


def write_fragment(
    name: str, title: str, body: str, info: dict[str, Any], line: dict[str, Any]
) -> Path:
    """``results/<name>.md``: the section RESULTS.md shows for this benchmark."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = (
        f"## {title}\n\n"
        f"Command: `{line['command']}` (commit {line['commit']}, {line['timestamp']}).\n"
        f"Machine: {machine_line(info)}.\n\n"
        f"{body.strip()}\n"
    )
    path = RESULTS / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    return path


def pyplot():  # type: ignore[no-untyped-def]
    """matplotlib with the file-only backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def md_table(header: list[str], rows: list[list[Any]], align: str | None = None) -> str:
    """A markdown table; ``align``: one of 'l'/'r' per column (default: first left, rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    marks = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def finish() -> None:
    """Regenerate RESULTS.md from every fragment (so it is always fresh)."""
    from report import regenerate

    path = regenerate()
    print(f"regenerated {path}")


class PrecomputedEncoder:
    """Stands in for the model in size benchmarks: returns the vector prepared for each text
    (synthetic clustered vectors standing in for embeddings)."""

    def __init__(self, by_text: dict[str, np.ndarray], dimension: int = 384) -> None:
        self.by_text = by_text
        self.dimension = dimension
        self.name = f"synthetic-clustered-{dimension}"

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return np.stack([self.by_text[t] for t in texts]).astype(np.float32)
