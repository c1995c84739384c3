"""Compare methods: LGT against the baselines (``compare``), or LGT's variants (``ablate``).

Each (task, seed, method) is a full session logged to MLflow like any other. The
results are the test metrics of the configuration each method chose on validation,
averaged over seeds.

- :mod:`~lgt_graph.compare.plan`: the seeds and every session's settings, checked first.
- :mod:`~lgt_graph.compare.run`: run the sessions, one row each.
- :mod:`~lgt_graph.compare.rank`: means, spreads and ranks over seeds.
- :mod:`~lgt_graph.compare.significance`: paired bootstrap verdicts, average ranks.
- :mod:`~lgt_graph.compare.render`: results.csv and results.md.
- :mod:`~lgt_graph.compare.plots`: curves.png and the anytime curves.
- :mod:`~lgt_graph.compare.log`: the comparison's own MLflow run.
"""
