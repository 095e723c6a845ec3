"""The errors a user can cause and fix. A leaf module: it imports nothing from the package.

Every error here derives from :class:`RecommenderError`, and each keeps the built-in base class
it always had (``InputError`` is still a ``ValueError``), so ``except ValueError`` code keeps
working. Shells (CLI, HTTP app) catch ``RecommenderError`` alone and print it as one line; any
other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class RecommenderError(Exception):
    """Base of every error a user can cause and fix (bad input, a damaged index, a lock...)."""


class InputError(RecommenderError, ValueError):
    """Bad input: names the source file, the line or row, and the field."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source or "<input>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        what = f"field '{self.field}': " if self.field else ""
        return f"{where}: {what}{self.message}"


class SettingsError(RecommenderError, ValueError):
    """A ranking setting, request option or config value out of its range or of the wrong type."""


class ConfigError(InputError):
    """A configuration file that cannot be read or has unknown or malformed entries.

    An :class:`InputError` (the file is the input): its message names the file and the key.
    """


class ExportTargetError(RecommenderError, ValueError):
    """An export whose target would write or delete outside the folder given (a symlink)."""


class PathError(RecommenderError, OSError):
    """A file or folder the user named that cannot be read or written (no permission, a file
    where a folder should be, a full disk...): the message names the path and the reason."""

    def __init__(self, path: str | Path, action: str, reason: OSError | str) -> None:
        self.path = Path(path)
        if isinstance(reason, OSError):
            culprit = reason.filename  # the part of the path at fault, when it is another one
            reason = reason.strerror or str(reason)
            if culprit is not None and Path(culprit) != self.path:
                reason = f"{culprit}: {reason}"
        super().__init__(f"cannot {action} {path}: {reason}")


class IndexFormatError(RecommenderError, RuntimeError):
    """A folder that is not a loadable index: missing, damaged, or of another format version."""


class IndexLockedError(RecommenderError, RuntimeError):
    """Another process is writing this index."""

    def __init__(self, index_path: Path, pid: int | None, started: str | None) -> None:
        self.index_path, self.pid, self.started = Path(index_path), pid, started
        holder = f"PID {pid}" if pid else "another process"
        since = f" (started {started})" if started else ""
        super().__init__(
            f"index {index_path} is locked by {holder}{since}: one writer at a"
            " time; wait for it or use --wait SECONDS"
        )


class UnknownArticleError(RecommenderError, LookupError):
    """An article id that is not in the index."""

    def __init__(self, article_id: str, message: str | None = None) -> None:
        self.article_id = article_id
        super().__init__(message or f"no article with id {article_id!r} in this index")

    def __str__(self) -> str:
        return str(self.args[0])


class ModelNotFoundError(RecommenderError, RuntimeError):
    """The sentence-transformers model cannot be found or loaded."""


class ModelMismatchError(RecommenderError, ValueError):
    """Vectors from one model used against an index built with another."""


class MissingExtraError(RecommenderError, ImportError):
    """An optional dependency (an extra such as ``eval`` or ``serve``) is not installed."""

    def __init__(self, package: str, extra: str = "eval") -> None:
        self.package, self.extra = package, extra
        label = "evaluation" if extra == "eval" else extra
        super().__init__(
            f"{package} is not installed; this needs the {label} extra:"
            f" pip install 'recommender[{extra}]'"
        )


# What the shells print as one line; anything else is a bug and keeps its traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (RecommenderError,)
