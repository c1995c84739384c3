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
        self._sent: list[Future[Any]] = []
        """The writes this tracker queued that may still fail or be waited for."""
        if background:
            from lgt_graph.tracking.writer import shared_writer

            self._writer = shared_writer()

    def submit(self, name: str, **kwargs: Any) -> Future[Any]:
        """Run the write ``WRITES[name]`` now, or queue it for the writer process."""
        if self._writer is not None:
            future = self._writer.submit(self.uri, self.experiment_id, name, kwargs)
            self._sent.append(future)
            return future
        future = Future()
        future.set_result(WRITES[name](self.client, self.experiment_id, **kwargs))
        return future

    def check(self) -> None:
        """Raise WriterError if a write of this tracker has failed, or the writer is gone."""
        if self._writer is None:
            return
        from lgt_graph.tracking.writer import WriterError

        failed = [f for f in self._sent if f.done() and f.exception() is not None]
        if failed or self._writer.dead:
            why = str(failed[0].exception()).strip() if failed else self._writer.dead
            raise WriterError(why.splitlines()[-1])
        self._sent = [f for f in self._sent if not f.done()]  # the written ones are done with

    def flush(self) -> None:
        """Wait for every write of this tracker still queued; raise if one failed."""
        for future in [f for f in self._sent if not f.done()]:
            future.result()

    def close(self) -> None:
        """Flush. The writer process stays for this process's next tracker."""
        self.flush()

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
