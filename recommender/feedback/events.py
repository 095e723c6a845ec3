"""Reader events: validation and the append-only store beside an index.

Two event types, sent by the widget (``static/widget.js``) to ``POST /events``:

    {"type": "impression", "impression": "r4nd0m", "source": "a", "config": "default",
     "shown": [{"id": "b", "position": 1}, ...], "experiment": "x", "teams": ["a", "b", ...],
     "swap": 2}
    {"type": "click", "impression": "r4nd0m", "source": "a", "target": "b", "position": 1}

``impression`` is a random token the widget draws per shown list (it links a click to its list;
it identifies no reader). ``teams`` (interleaving) and ``swap`` (the adjacent pair randomized for
position-bias estimation) come from the server's answer and are passed through.

Privacy by design: nothing about the reader is stored (no cookie, user id, IP address or user
agent); the time of an event is stored to the minute.

The store is SQLite in WAL mode at ``<parent>/.recommender-events/<name>.sqlite``: beside the
index, outside its version folders, so events outlive rebuilds. Rows are only ever appended.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recommender.errors import InputError

MAX_EVENTS_PER_REQUEST = 50
MAX_SHOWN = 50
MAX_ID_CHARS = 512
TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LABEL = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
TEAMS = ("a", "b")
IMPRESSION_KEYS = frozenset(
    {"type", "impression", "source", "shown", "config", "experiment", "teams", "swap"}
)
CLICK_KEYS = frozenset({"type", "impression", "source", "target", "position", "config"})

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL CHECK (type IN ('impression', 'click')),
    minute INTEGER NOT NULL,
    impression TEXT NOT NULL,
    source TEXT NOT NULL,
    config TEXT,
    experiment TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_impression ON events (impression);
CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
"""


@dataclass(frozen=True)
class Event:
    """One validated event. ``data`` holds the type's own fields (shown, teams, target...)."""

    type: str
    impression: str
    source: str
    config: str | None = None
    experiment: str | None = None
    data: Mapping[str, Any] | None = None
    minute: int = 0
    """Minutes since the epoch (UTC) when the server stored it."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "time": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(self.minute * 60)),
            "impression": self.impression,
            "source": self.source,
        }
        if self.config is not None:
            out["config"] = self.config
        if self.experiment is not None:
            out["experiment"] = self.experiment
        out.update(self.data or {})
        return out

    @property
    def shown(self) -> list[str]:
        """Shown ids in position order (impressions)."""
        items = sorted((self.data or {}).get("shown", []), key=lambda s: s["position"])
        return [s["id"] for s in items]


# ---------------------------------------------------------------------------- validation
def _text(event: Mapping[str, Any], key: str, *, pattern: re.Pattern[str] | None = None) -> str:
    value = event.get(key)
    if not isinstance(value, str) or not value or len(value) > MAX_ID_CHARS:
        raise InputError(f"expected a non-empty string of at most {MAX_ID_CHARS} chars", field=key)
    if pattern is not None and not pattern.match(value):
        raise InputError(f"malformed value {value[:40]!r}", field=key)
    return value


def _position(value: Any, key: str, limit: int = MAX_SHOWN) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise InputError(f"expected a whole number from 1 to {limit}", field=key)
    return value


def _optional_label(event: Mapping[str, Any], key: str) -> str | None:
    if event.get(key) is None:
        return None
    return _text(event, key, pattern=LABEL)


def _shown(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    shown = event.get("shown")
    if not isinstance(shown, list) or not 1 <= len(shown) <= MAX_SHOWN:
        raise InputError(f"expected a list of 1 to {MAX_SHOWN} shown items", field="shown")
    out, positions = [], set()
    for item in shown:
        if not isinstance(item, dict) or set(item) != {"id", "position"}:
            raise InputError("each shown item is {id, position}", field="shown")
        position = _position(item["position"], "shown.position")
        out.append({"id": _text(item, "id"), "position": position})
        positions.add(position)
    if len(positions) != len(out):
        raise InputError("two shown items share a position", field="shown")
    return sorted(out, key=lambda s: s["position"])


def _impression_data(event: Mapping[str, Any]) -> dict[str, Any]:
    shown = _shown(event)
    data: dict[str, Any] = {"shown": shown}
    teams = event.get("teams")
    if teams is not None:
        if (
            not isinstance(teams, list)
            or len(teams) != len(shown)
            or any(t not in TEAMS for t in teams)
        ):
            raise InputError("expected one team ('a' or 'b') per shown item", field="teams")
        data["teams"] = list(teams)
    if event.get("swap") is not None:
        data["swap"] = _position(event["swap"], "swap", len(shown) - 1 if len(shown) > 1 else 0)
    return data


def validate_event(event: Any) -> Event:
    """An :class:`Event` from one decoded JSON object, or :class:`InputError` naming the field."""
    if not isinstance(event, dict):
        raise InputError("an event is a JSON object")
    kind = event.get("type")
    if kind not in ("impression", "click"):
        raise InputError("expected 'impression' or 'click'", field="type")
    allowed = IMPRESSION_KEYS if kind == "impression" else CLICK_KEYS
    unknown = sorted(set(event) - allowed)
    if unknown:  # also keeps anything identifying (user ids, ...) out of the store
        raise InputError(f"unknown field {unknown[0][:40]!r}", field=unknown[0][:40])
    if kind == "impression":
        data = _impression_data(event)
    else:
        data = {
            "target": _text(event, "target"),
            "position": _position(event.get("position"), "position"),
        }
    return Event(
        type=kind,
        impression=_text(event, "impression", pattern=TOKEN),
        source=_text(event, "source"),
        config=_optional_label(event, "config"),
        experiment=_optional_label(event, "experiment") if kind == "impression" else None,
        data=data,
    )


def parse_batch(body: bytes) -> list[Event]:
    """Events from a request body: one event object, or ``{"events": [...]}``."""
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InputError("body is not JSON") from None
    if isinstance(decoded, dict) and "events" in decoded:
        if set(decoded) != {"events"} or not isinstance(decoded["events"], list):
            raise InputError('expected {"events": [...]}', field="events")
        items = decoded["events"]
    else:
        items = [decoded]
    if not 1 <= len(items) <= MAX_EVENTS_PER_REQUEST:
        raise InputError(f"expected 1 to {MAX_EVENTS_PER_REQUEST} events", field="events")
    return [validate_event(item) for item in items]


# ---------------------------------------------------------------------------- the store
def events_path(index_path: str | Path) -> Path:
    """Where the events of the index at ``index_path`` live (outside its version folders)."""
    index_path = Path(index_path)
    return index_path.parent / ".recommender-events" / f"{index_path.name}.sqlite"


class EventStore:
    """Append-only SQLite (WAL). Thread-safe: one connection behind a lock."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly:
            if not self.path.exists():
                raise InputError("no events recorded for this index yet", source=str(self.path))
            self._db = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, check_same_thread=False
            )
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    @classmethod
    def for_index(cls, index_path: str | Path, *, readonly: bool = False) -> EventStore:
        return cls(events_path(index_path), readonly=readonly)

    def append(self, events: Sequence[Event], *, now: float | None = None) -> int:
        minute = int((time.time() if now is None else now) // 60)
        rows = [
            (
                e.type,
                minute,
                e.impression,
                e.source,
                e.config,
                e.experiment,
                json.dumps(dict(e.data or {}), separators=(",", ":")),
            )
            for e in events
        ]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO events (type, minute, impression, source, config, experiment, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._db.execute("COMMIT")
        return len(rows)

    def __iter__(self) -> Iterator[Event]:
        with self._lock:
            rows = self._db.execute(
                "SELECT type, minute, impression, source, config, experiment, data"
                " FROM events ORDER BY seq"
            ).fetchall()
        for kind, minute, impression, source, config, experiment, data in rows:
            yield Event(kind, impression, source, config, experiment, json.loads(data), minute)

    def count(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT type, COUNT(*) FROM events GROUP BY type").fetchall()
        return {"impression": 0, "click": 0, **dict(rows)}

    def close(self) -> None:
        with self._lock:
            self._db.close()


def load_events(index_path: str | Path) -> list[Event]:
    """Every stored event of an index, oldest first."""
    store = EventStore.for_index(index_path, readonly=True)
    try:
        return list(store)
    finally:
        store.close()


def export_events(index_path: str | Path, out: str | Path) -> int:
    """Write the events as JSON lines (or Parquet for ``.parquet``); returns how many."""
    out = Path(out)
    records = [e.to_dict() for e in load_events(index_path)]
    if out.suffix.lower() == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            from recommender.errors import MissingExtraError

            raise MissingExtraError("pyarrow", "parquet") from None
        flat = [
            {**r, **{k: json.dumps(v) for k, v in r.items() if isinstance(v, list)}}
            for r in records
        ]
        pq.write_table(pa.Table.from_pylist(flat), out)
        return len(records)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    tmp.replace(out)
    return len(records)
