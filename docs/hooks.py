"""MkDocs hook: the command-line reference is the CLI's own ``--help``, rendered at build time."""

from __future__ import annotations

import os
from typing import Any

MARKER = "<!-- cli-help -->"


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Replace the marker on the reference page with every command's help text."""
    if MARKER not in markdown:
        return markdown
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal's width
    from lgt_graph.cli.parser import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    parts = [f"```\n{parser.format_help()}```"]
    for name, sub in commands.choices.items():
        parts.append(f"## {name}\n\n```\n{sub.format_help()}```")
    return markdown.replace(MARKER, "\n\n".join(parts))
