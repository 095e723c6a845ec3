"""The errors a user can cause and fix; shells print them as one line, not a traceback."""

from __future__ import annotations

from recommender.articles import InputError
from recommender.encoder import ModelNotFoundError
from recommender.engine import UnknownArticleError
from recommender.persistence import IndexFormatError, IndexLockedError

USER_ERRORS: tuple[type[BaseException], ...] = (
    InputError,
    IndexFormatError,
    IndexLockedError,
    UnknownArticleError,
    ModelNotFoundError,
    ValueError,
    OSError,
)
