"""Offline evaluation: how related are the engine's lists, in numbers.

- :mod:`~recommender.evaluation.metrics`: correlations (scipy) and ranking metrics (ranx);
- :mod:`~recommender.evaluation.lee`: the Lee50 data set (gensim's test data);
- :mod:`~recommender.evaluation.pairs`: pair scores of the engine (or any method) on a small set;
- :mod:`~recommender.evaluation.gold`: a site's own gold file (JSONL lists or CSV pairs);
- :mod:`~recommender.evaluation.lists`: properties of the lists (coverage, age, duplicates, ...);
- :mod:`~recommender.evaluation.runs`: the two evaluations the CLI runs, end to end.

Needs the ``eval`` extra (gensim, ranx, scipy); modules import it lazily where they can.
"""

from __future__ import annotations

from recommender.errors import MissingExtraError

EXTRA_HINT = "this needs the evaluation extra: pip install 'recommender[eval]'"


def require(module: str, package: str | None = None) -> object:
    """Import ``module`` or fail with one line naming the extra that brings it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(package or module) from None
