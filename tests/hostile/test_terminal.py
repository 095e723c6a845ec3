"""Issue 12 item 10: terminal escape sequences in titles reached the CLI table raw.

:func:`recommender.terminal.printable` is what the CLI shows people; ``--json`` stays exact
(the CLI tests for both are in tests/hostile/test_cli_hostile.py).
"""

from __future__ import annotations

import pytest

from recommender.terminal import printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m title", "red title"),
        ("clear\x1b[2J\x1b[H screen", "clear screen"),
        ("\x1b]8;;https://evil.test\x07click\x1b]8;;\x07", "click"),
        ("\x1b]0;window title\x1b\\text", "text"),
        ("over\rwrite", "over write"),
        ("bell\x07 and back\x08space", "bell and backspace"),
        ("two\nlines\tand tab", "two lines and tab"),
        ("abc\u202egpj.exe", "abcgpj.exe"),
        ("zero\u200bwidth", "zerowidth"),
        ("nul\x00byte", "nulbyte"),
        ("c1\x9b31mcsi", "c1csi"),
        ("del\x7fete", "delete"),
        ("Zürich 東京 👩\u200d💻", "Zürich 東京 👩\u200d💻"),
        ("[bold]not markup here[/bold]", "[bold]not markup here[/bold]"),
    ],
)
def test_printable(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_printable_output_has_no_controls() -> None:
    every = "".join(chr(c) for c in range(0, 0x250)) + "\u200e\u200f\u202a\u202b\u202c\u2066"
    shown = printable(every)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in shown)
    assert not set(shown) & set("\u200e\u200f\u202a\u202b\u202c\u2066")
