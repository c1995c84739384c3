"""MLflow tracking: the store, the tracker, and the records a session writes.

- :mod:`~lgt_graph.tracking.store`: which store, whether it can work, a client on it.
- :mod:`~lgt_graph.tracking.schema`: a SQLite store's tables, made whole beside it.
- :mod:`~lgt_graph.tracking.tracker`: one experiment, written here or from a child process.
- :mod:`~lgt_graph.tracking.writer`: that child process.
- :mod:`~lgt_graph.tracking.writes`: the table of writes by name, which
  :mod:`~lgt_graph.tracking.runs` (a trial as a run) and
  :mod:`~lgt_graph.tracking.session_runs` (a session's records) implement.
"""

from lgt_graph.tracking.store import check_uri, open_client, tracking_uri, ui_command
from lgt_graph.tracking.tracker import Tracker

__all__ = ["Tracker", "check_uri", "open_client", "tracking_uri", "ui_command"]
