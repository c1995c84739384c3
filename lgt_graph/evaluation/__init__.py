"""The frozen evaluation: what every method is scored by, the same for all.

``metrics`` holds the metrics, their direction and the better-than rule; ``curves`` the
learning-curve summaries the agents read; ``val_outputs`` a trial's validation outputs;
``selection`` the final choice; ``ensemble`` the ensemble final choice.
"""
