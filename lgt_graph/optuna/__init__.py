"""LGT inside any Optuna study (issue 17): the study's space as knobs, the agents' values back.

Under construction: :mod:`lgt_graph.optuna.space` maps a study's distributions to knobs
and repairs proposed values into them; the sampler built on it comes next.
"""
