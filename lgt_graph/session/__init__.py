"""A tuning session: open it, run the graph to its end, mirror it to MLflow, resume it.

- :mod:`~lgt_graph.session.runner`: the one runner every method goes through.
- :mod:`~lgt_graph.session.opening`: the task, nodes, model, tracker; resume's rules.
- :mod:`~lgt_graph.session.mirror`: the state, projected into MLflow and onto the screen.
- :mod:`~lgt_graph.session.store`: the checkpoints and the table of sessions (SQLite).
- :mod:`~lgt_graph.session.naming`: the experiment and the parent run of a session.
- :mod:`~lgt_graph.session.tracer`: MLflow traces of the agents' chat calls.
"""

from lgt_graph.session.mirror import print_summary
from lgt_graph.session.runner import Outcome, run_session

__all__ = ["Outcome", "print_summary", "run_session"]
