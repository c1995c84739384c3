"""Our exception types, and how to tell a storage failure from the words of an error.

The user's errors are one clear line and exit status 2, never a traceback; storage
errors one line and exit status 4.
"""


class UserError(Exception):
    """A mistake in what the user asked for (flag, task, data, configuration)."""


class DataNotFoundError(UserError):
    """A task's files are not where the data directory says they should be."""


class ConfigError(UserError):
    """A configuration names an unknown knob or a value outside the knob's range."""


class Terminated(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM): it closes like an interrupt, exit status 143."""


class StorageError(Exception):
    """The session's records or checkpoints could not be written: exit status 4.

    A full disk or a read-only file stops the session where it was saved; once the
    cause is fixed, ``--resume`` continues it.
    """


UNWRITABLE = (
    "disk is full",
    "no space left",
    "file too large",
    "readonly database",
    "read-only file system",
    "disk i/o error",
    "permission denied",
    "unable to open database",
    "quota exceeded",
)
"""What a storage failure says, in SQLite's, the OS's or MLflow's words."""


def unwritable(exc: BaseException) -> bool:
    """Say whether an error means a file cannot be written: a full or read-only disk."""
    import errno

    if isinstance(exc, OSError) and exc.errno in (
        errno.ENOSPC,
        errno.EFBIG,
        errno.EROFS,
        errno.EACCES,
        errno.EDQUOT,
        errno.EIO,
    ):
        return True
    return any(words in str(exc).lower() for words in UNWRITABLE)


def innermost(exc: BaseException) -> BaseException:
    """Return the error at the bottom of a chain (SQLite's own, under SQLAlchemy's and MLflow's)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc
