"""Text for people's terminals: no control characters, no escape sequences, no bidi tricks.

Titles, ids, sections and file names come from users' data. Printed raw, ``\\x1b[2J`` clears
the screen, ``\\x1b]8;;...`` plants a hyperlink, ``\\r`` overwrites what was printed, and U+202E
reverses the text after it. :func:`printable` is applied to everything the CLI shows in tables,
summaries and one-line errors; ``--json`` output stays exact (JSON escapes these characters).
"""

from __future__ import annotations

import re
import unicodedata

# An ANSI escape sequence (CSI ... final byte, OSC ... BEL/ST, or a two-byte ESC x), removed
# whole so that no "[31m" debris is left behind.
_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC (hyperlinks, titles)
    r"|\x1b[@-Z\\-_]"  # two-byte sequences
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_KEEP_FORMAT = {"\u200c", "\u200d"}  # zero-width (non-)joiners shape emoji and scripts


def printable(text: object) -> str:
    """``text`` as one safe run of characters: escape sequences removed, tabs and line breaks
    turned into spaces, every other control or invisible format character dropped."""
    cleaned = _ESCAPE.sub("", str(text))
    out: list[str] = []
    for char in cleaned:
        category = unicodedata.category(char)
        if char in "\t\n\r\v\f\u2028\u2029\x85":
            out.append(" ")
        elif category == "Cc" or (category == "Cf" and char not in _KEEP_FORMAT):
            continue
        else:
            out.append(char)
    return "".join(out)
