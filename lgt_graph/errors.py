"""The user's errors: one clear line and exit status 2, never a traceback."""


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
