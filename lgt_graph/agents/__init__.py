"""The agents' side of the graph: calling a model, their prompts and answers.

``calling`` asks a model for a structured answer (one repair, then a fallback); the
prompts are rendered by ``prompting`` (the Advisor's), ``evaluator_prompts`` and
``optimizer_prompts``; ``schemas`` are the answers; ``proposal_checks`` whether a proposal
fits the space; ``noise`` the floor the Evaluator judges against; ``predictions`` whether
the Advisor's expectations came true; ``experience`` lessons across sessions.
"""
