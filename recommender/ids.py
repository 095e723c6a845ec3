"""The article id contract, checked where articles come in.

An id travels everywhere: file names of the static export, Hugo and Jekyll data keys, URL
paths of the HTTP API, terminal tables. What fits all of them:

- 1 to :data:`MAX_ID_LENGTH` characters, no leading or trailing whitespace;
- printable characters only: no control characters (NUL, newline, tab, escape), no invisible
  format characters (bidi overrides such as U+202E, zero-width spaces, the BOM), no line or
  paragraph separators, no private-use, unassigned or surrogate code points; the only space
  allowed is the plain space U+0020;
- not ``.`` or ``..``, and no ``/``-separated part that is ``.`` or ``..`` (URL paths would
  resolve them away: ``a/../b`` is requested as ``b``).

Letters of any script, digits, punctuation, ``/`` (Markdown ids are paths: ``world/summit``)
and symbols are fine.
"""

from __future__ import annotations

import unicodedata

from recommender.errors import InputError

MAX_ID_LENGTH = 200

# Unicode general categories refused: Cc control, Cf format (bidi, zero-width), Cs surrogate,
# Co private use, Cn unassigned, Zl/Zp line/paragraph separators, Zs spaces other than U+0020.
_REFUSED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"}


def id_problem(article_id: str) -> str | None:
    """Why ``article_id`` breaks the id contract, or ``None`` when it is a valid id."""
    if not article_id:
        return "empty"
    if len(article_id) > MAX_ID_LENGTH:
        return f"{len(article_id)} characters long; an id may have at most {MAX_ID_LENGTH}"
    if article_id != article_id.strip():
        return "starts or ends with whitespace"
    for position, char in enumerate(article_id, start=1):
        if char != " " and unicodedata.category(char) in _REFUSED:
            name = unicodedata.name(char, "control character")
            return (
                f"character {position} is U+{ord(char):04X} ({name}); ids take printable"
                " characters only"
            )
    if any(part in (".", "..") for part in article_id.split("/")):
        return "'.' and '..' are not ids, nor parts of one between slashes"
    return None


def check_id(article_id: str) -> None:
    """:class:`InputError` naming the problem when ``article_id`` breaks the id contract."""
    problem = id_problem(article_id)
    if problem:
        raise InputError(f"invalid id {shown_id(article_id)}: {problem}", field="id")


def shown_id(article_id: str) -> str:
    """An id for an error message: escaped (one line, no terminal codes) and at most ~40 chars."""
    return repr(article_id[:40]) + ("..." if len(article_id) > 40 else "")
