"""The nodes of the LGT graph, one module each, resolved by name so any can be swapped."""
