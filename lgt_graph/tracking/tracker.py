"""The tracker: one MLflow experiment, written from this process or from a child process.

Writing a trial costs tens of milliseconds of SQLAlchemy work, more than a small trial
trains, so a tracker can write from a child process (:mod:`lgt_graph.tracking.writer`);
:meth:`Tracker.flush` waits for every write and raises if one failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from lgt_graph.errors import StorageError, UserError, innermost, unwritable
from lgt_graph.tracking.schema import store_lock
from lgt_graph.tracking.store import artifact_root, check_uri, open_client
from lgt_graph.tracking.writes import WRITES
from lgt_graph.training.result import TrialResult


class Tracker:
    """Write trials (and, later, tuning sessions) to one MLflow experiment.

    With ``background=True`` the writes run in a child process (see
    :mod:`lgt_graph.writer`) and the caller only waits for :meth:`flush`.
    """

    def __init__(self, uri: str, experiment: str, background: bool = False) -> None:
        check_uri(uri)
        from mlflow.exceptions import MlflowException

        self.uri = uri
        self.experiment = experiment
        try:
            with store_lock(uri):  # a new store, or experiment, is created by one process
                self.client = open_client(uri)
                found = self.client.get_experiment_by_name(experiment)
                self.experiment_id: str = (
                    found.experiment_id
                    if found
                    else self.client.create_experiment(experiment, artifact_root(uri, experiment))
                )
        except MlflowException as exc:
            if unwritable(exc):
                raise StorageError(
                    f"cannot write the MLflow store {uri}: its disk is full or cannot be"
                    f" written ({innermost(exc)}): free space on that disk, then run again"
                ) from None
            raise UserError(f"cannot open the MLflow store at {uri}: {exc.message}") from None
        self._writer = None
        if background:
            from lgt_graph.tracking.writer import BackgroundWriter

            self._writer = BackgroundWriter(uri, self.experiment_id)

    def submit(self, name: str, **kwargs: Any) -> Future[Any]:
        """Run the write ``WRITES[name]`` now, or queue it for the writer process."""
        if self._writer is not None:
            return self._writer.submit(name, kwargs)
        future: Future[Any] = Future()
        future.set_result(WRITES[name](self.client, self.experiment_id, **kwargs))
        return future

    def check(self) -> None:
        """Raise WriterError if a queued write has failed, or the writer is gone."""
        if self._writer is not None and (self._writer.failure or self._writer.dead):
            from lgt_graph.tracking.writer import WriterError

            raise WriterError(self._writer.failure or self._writer.dead)

    def flush(self) -> None:
        """Wait for every queued write; raise if one failed."""
        if self._writer is not None:
            for future in self._writer.pending():
                future.result()

    def close(self) -> None:
        """Flush, then stop the writer process."""
        if self._writer is not None:
            try:
                self.flush()
            finally:
                self._writer.close()

    def log_trial(
        self,
        result: TrialResult,
        tags: Mapping[str, str],
        run_name: str | None = None,
        parent_run_id: str | None = None,
    ) -> Future[Any]:
        """Record a trial as a run (params, curves, final metrics, tags); future of its id."""
        return self.submit(
            "trial",
            result=result.to_dict(),
            tags=dict(tags),
            run_name=run_name,
            parent_run_id=parent_run_id,
        )
