"""Language-Guided Tuning: language-model agents tune a model's configuration from its curves."""

__version__ = "0.1.0"
