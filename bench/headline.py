"""Write the results page (docs/RESULTS.md) from stored result folders, in one command.

What the page holds is the manifest's (bench/headline.toml): its sections, each with the
command that made its folders, the folders (under ``--root``), and a few lines of prose.
The tables themselves are computed here from the folders' sessions, as ``compare`` writes
them, so a figure on the page is a figure of a stored session, never one copied by hand:

- ``compare``: the comparison of the folders' sessions (``compare --out`` or
  ``bench.equal_compute --out`` folders; an entry may keep only some ``methods``), as
  results.md renders it, under the section's heading;
- ``local_model``: :mod:`bench.local_model`'s table of a small real model in the loop;
- ``log``: prose only, for results whose folders were not kept (it points to the log page).

Each section says the commit its sessions ran: the one each session recorded
(``Row.commit``), or for sessions from before that was recorded, the entry's ``commit``.
The page opens with LGT's standing at a glance: on each task of each ``compare`` section,
LGT against the best rival, paired by seed, with its 95 % interval and verdict.

    python -m bench.headline --root /work --out docs/RESULTS.md [--manifest bench/headline.toml]
"""

from __future__ import annotations

import argparse
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.combine import load
from bench.local_model import rows_of as local_rows
from bench.local_model import table as local_table
from lgt_graph.compare.rank import summary
from lgt_graph.compare.render import markdown
from lgt_graph.compare.rows import Row
from lgt_graph.compare.significance import best_baseline, paired
from lgt_graph.graph.methods import METHODS

MANIFEST = Path(__file__).with_name("headline.toml")
KINDS = ("compare", "local_model", "log")


class ManifestError(SystemExit):
    """A manifest or a folder it names that cannot be read: the message says which."""


def read_manifest(path: Path) -> dict[str, Any]:
    """Read and check the manifest: every section has a title, a known kind and its fields."""
    try:
        manifest = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ManifestError(f"{path}: {error}") from None
    for i, section in enumerate(manifest.get("section", []), 1):
        where = f"{path}: section {i} ({section.get('title', 'no title')!r})"
        if "title" not in section or section.get("kind") not in KINDS:
            raise ManifestError(f"{where}: give a title and a kind, one of {', '.join(KINDS)}")
        if section["kind"] != "log" and not section.get("folders"):
            raise ManifestError(f"{where}: a {section['kind']} section needs folders")
        if section["kind"] != "log" and not section.get("command"):
            raise ManifestError(f"{where}: say the command that made its folders")
    return manifest


def section_rows(root: Path, section: dict[str, Any]) -> tuple[list[Row], list[int]]:
    """Load a compare section's sessions: each entry's folder, methods kept, commit filled in."""
    rows: list[Row] = []
    seeds: set[int] = set()
    for entry in map(_entry, section["folders"]):
        try:
            found, planned = load([root / entry["path"]])
        except SystemExit as error:  # a folder that is not there, or holds no sessions
            raise ManifestError(f"section {section['title']!r}: {error}") from None
        keep = entry.get("methods")
        for row in found:
            if keep is None or row.method in keep:
                row.commit = row.commit or entry.get("commit", "")
                row.task = task_name(row.task)
                rows.append(row)
        seeds.update(planned)
    return rows, sorted(seeds)


def task_name(task: str) -> str:
    """Name a task as a reader knows it: ``csv:DATA/wage/Wage.csv`` is ``Wage``."""
    return Path(task.partition(":")[2]).stem if task.startswith("csv:") else task


def _entry(entry: str | dict[str, Any]) -> dict[str, Any]:
    return {"path": entry} if isinstance(entry, str) else entry


def commits_line(rows: list[Row]) -> str:
    """Say which commit ran which methods: one commit for all, or each with its methods."""
    by: dict[str, list[str]] = {}
    for row in rows:
        names = by.setdefault(row.commit or "not recorded", [])
        title = METHODS[row.method].title if row.method in METHODS else row.method
        if title not in names:
            names.append(title)
    if len(by) == 1:
        return f"Commit: {next(iter(by))} (every session)."
    return "Commits:\n\n" + "\n".join(f"- {c}: {' · '.join(n)}" for c, n in by.items())


def glance(title: str, anchor: str, rows: list[Row]) -> list[str]:
    """Return one line a task: LGT against the best rival there, paired by seed."""
    lines = []
    for task, per in summary(rows).items():
        rival = best_baseline(per)
        if "lgt" not in per or rival is None:
            continue
        lgt = per["lgt"]
        primary = lgt["primary"]
        pair = paired(rows, task, "lgt", rival)
        if pair is None or primary not in lgt["test"]:
            continue
        mean, sd = lgt["test"][primary]
        theirs = per[rival]["test"][primary]
        if pair.interval is None:
            gain = f"{pair.mean:+.4f} (one seed)"
        else:
            gain = f"{pair.mean:+.4f} [{pair.interval[0]:+.4f}, {pair.interval[1]:+.4f}]"
        verdict = f"**{pair.verdict}**" if pair.verdict in ("win", "loss") else pair.verdict
        commit = ", ".join(sorted({r.commit or "?" for r in rows if r.task == task}))
        lines.append(
            f"| [{title}](#{anchor}) | {task} | {primary} | {mean:.4f} ± {sd:.4f}"
            f" | {METHODS[rival].title} {theirs[0]:.4f} ± {theirs[1]:.4f} | {gain}"
            f" | {verdict} | {lgt['rank']} of {len(per)} | {commit} |"
        )
    return lines


def slug(title: str) -> str:
    """Return the anchor the site and GitHub give a heading (lower case, dashes)."""
    text = re.sub(r"[^\w\- ]", "", title.lower()).strip()
    return text.replace(" ", "-")


def demote(text: str, levels: int = 1) -> list[str]:
    """Return results.md's lines with its headings pushed down (# becomes ##)."""
    return [("#" * levels + line) if line.startswith("#") else line for line in text.splitlines()]


def render_section(root: Path, section: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Return a section's Markdown and its lines for the page's glance table."""
    lines = [f"## {section['title']}", "", section.get("about", "").strip(), ""]
    if section.get("command"):
        lines += ["```bash", section["command"].strip(), "```", ""]
    if section["kind"] == "log":
        return lines, []
    if section["kind"] == "local_model":
        entry = _entry(section["folders"][0])
        rows: list[Row] = []
        for task in section.get("tasks", ["iris", "wine", "water"]):
            found = local_rows(root / entry["path"], task)
            for row in found:
                row.commit = row.commit or entry.get("commit", "")
            rows += found
            lines += [*local_table(found, task), ""]
        if rows:
            lines += [commits_line(rows), ""]
        return lines, []
    rows, seeds = section_rows(root, section)
    if not rows:
        raise ManifestError(f"section {section['title']!r}: its folders hold no session")
    text = markdown(rows, None, seeds, title="x", budget_note=section.get("budget", "Budgets"))
    body = demote(text)[1:]  # the table's own title is the section's
    lines += [commits_line(rows), "", *body]
    return lines, glance(section["title"], slug(section["title"]), rows)


def page(root: Path, manifest: dict[str, Any], command: str) -> str:
    """Render the whole page: the manifest's opening, the glance table, then each section."""
    sections = [render_section(root, s) for s in manifest.get("section", [])]
    glanced = [line for _, g in sections for line in g]
    lines = [
        f"<!-- written by `{command}`: edit bench/headline.toml or the code, not this page -->",
        "",
        f"# {manifest.get('title', 'Results')}",
        "",
        manifest.get("intro", "").strip(),
        "",
    ]
    if glanced:
        lines += [
            "## At a glance",
            "",
            manifest.get("glance", "").strip(),
            "",
            "| table | task | metric | LGT | best rival | LGT's gain [95% CI] | verdict"
            " | LGT's rank | commit |",
            "|---|---|---|---|---|---|---|---|---|",
            *glanced,
            "",
        ]
    for body, _ in sections:
        lines += [*body, ""]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    """Write the page to ``--out`` (or print it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="the folders' common root")
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument("--out", type=Path, help="the page to write (printed without it)")
    args = parser.parse_args(argv)
    manifest = read_manifest(args.manifest)
    command = f"python -m bench.headline --root {args.root}" + (
        f" --out {args.out}" if args.out else ""
    )
    text = page(args.root, manifest, command)
    if args.out:
        args.out.write_text(text)
        print(f"wrote {args.out} ({len(text.splitlines())} lines)")
    else:
        print(text)


if __name__ == "__main__":
    main()
