"""The built-in heuristic expert: rules a practitioner applies to learning curves."""
