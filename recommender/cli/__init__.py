"""The command line: parse, call the engine, print (a table for people, ``--json`` for programs).

``common`` holds what every command shares; ``write``, ``read``, ``serve`` and ``eval`` hold one
group of commands each; ``app`` registers them. Heavy imports happen inside commands so
``--help`` is instant.
"""

from recommender.cli.app import app, main

__all__ = ["app", "main"]
