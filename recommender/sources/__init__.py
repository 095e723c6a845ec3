"""Readers for the formats publishers already have: WordPress exports (WXR), RSS/Atom feeds,
HTML pages (a folder or a sitemap), next to the JSONL/CSV/Markdown readers of
:mod:`recommender.loaders`. Every reader yields the same validated
:class:`~recommender.articles.Article` objects and raises the same
:class:`~recommender.errors.InputError` naming file (or URL), line (or item) and field.

:func:`read_inputs` reads several inputs (files, folders, URLs), detects each one's format
from its content (or takes ``format``), rejects duplicate ids and empty inputs, and counts
what it skipped on purpose (drafts, attachments, tag pages ...) in :class:`Loaded.skipped`.
"""

from __future__ import annotations

from recommender.sources.detect import FORMATS, Loaded, ReadOptions, detect_format, read_inputs

__all__ = ["FORMATS", "Loaded", "ReadOptions", "detect_format", "read_inputs"]
