"""The epoch-level loop: one training run, tuned between its epochs.

``loop`` holds the paired segments, their checkpoints and the run's line; ``prompts`` the
agents' prompts between segments; ``guards`` what keeps the loop from chasing noise;
``story`` its MLflow record; ``nested`` the loop inside each trial (``--loop both``);
``population`` Population Based Training on the same segments.
"""
