"""The LGT graph: the nodes wired together, its edges, and the node sets of every method.

``build`` wires the nodes into the LangGraph graph; ``routing`` decides its conditional
edges; ``budgets`` says when a budget (trials, epochs, seconds) is spent; ``registry``
names the nodes; ``methods`` is the method table (LGT, its variants, the baselines).
"""
