"""LGT inside any Optuna study (issue 17).

:class:`~lgt_graph.optuna.sampler.LGTSampler` is an ``optuna.samplers.BaseSampler``
whose proposals come from the LGT agents; :mod:`lgt_graph.optuna.space` maps a study's
distributions to knobs and repairs proposed values into them;
:mod:`lgt_graph.optuna.study_state` reads a study's trials as the agents' history.
"""

from lgt_graph.optuna.sampler import LGTSampler

__all__ = ["LGTSampler"]
