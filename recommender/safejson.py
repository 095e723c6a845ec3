"""JSON from users, read the strict way: no NaN or Infinity, no stack-exhausting nesting.

Python's ``json`` accepts ``NaN``, ``Infinity`` and ``1e999`` (read as ``inf``), which are not
JSON: a browser's ``JSON.parse`` rejects what we would write back out. It also recurses once
per nesting level, so ``[[[[...]]]]`` 100,000 levels deep raises ``RecursionError`` (a
traceback, not an error message). :func:`loads` turns both into
:class:`json.JSONDecodeError`, so every caller that already reports malformed JSON with its
file and line reports these the same way.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (only finite numbers are)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of the range of a JSON number")
    return value


def loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses non-finite numbers and nesting too deep to read."""
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", _as_str(text), 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # from the hooks above, which are not told where they are
        doc = _as_str(text)
        raise json.JSONDecodeError(str(exc), doc, _non_finite_at(doc)) from None


# A JSON string (skipped), or a number token that may not be finite.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)')


def _non_finite_at(doc: str) -> int:
    """Offset of the first NaN, Infinity or overflowing number outside strings (else 0)."""
    for match in _TOKENS.finditer(doc):
        token = match.group(1)
        if token and not math.isfinite(float(token.replace("Infinity", "inf"))):
            return match.start(1)
    return 0


def _as_str(text: str | bytes) -> str:
    return text if isinstance(text, str) else text.decode("utf-8", "replace")


def dumps(data: Any, **options: Any) -> str:
    """``json.dumps`` that never writes NaN or Infinity (not JSON: browsers reject them).

    Inputs and settings refuse non-finite numbers, so none should get here; one that does (an
    index written by an older version, say) is written as ``null`` rather than as invalid JSON.
    """
    try:
        return json.dumps(data, allow_nan=False, **options)
    except ValueError:
        return json.dumps(_finite(data), allow_nan=False, **options)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
