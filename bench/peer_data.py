"""Fetch public tables that no test or rule of ours has seen (the peers and issue 38).

All come from the data folder of ISLP, the Python package of "An Introduction to
Statistical Learning" (James, Witten, Hastie, Tibshirani, Taylor; PyPI ``ISLP``): the
package's wheel is downloaded with pip from the registry (no dependencies installed) and
the two CSV files are copied out as they are, with a SOURCE.md each.

- ``bikeshare/Bikeshare.csv``: Capital Bikeshare, Washington DC, hourly rentals of 2011
  (8,645 rows; from the UCI Bike Sharing data of Fanaee-T and Gama, 2013). Target
  ``bikers``, a count with a long right tail; ``casual`` and ``registered`` add up to it
  and are dropped. Month, hour and weather are text categories.
- ``wage/Wage.csv``: wages of 3,000 men in the Mid-Atlantic region (US Census Bureau's
  Current Population Survey, March supplements 2003-2009). Target ``wage`` ($1000s);
  ``logwage`` is the same number and is dropped; 7 of its 10 features are categories.
- ``hitters/Hitters.csv``: 322 Major League Baseball players of 1986-87; target ``Salary``
  ($1000s, missing for 59 players, whose rows are dropped), long right tail.
- ``college/College.csv``: 777 US colleges (US News and World Report, 1995); target ``Apps``
  (applications received), long right tail.

Run: python -m bench.peer_data --out /work/data37   (then pass --data-dir or the csv: paths)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "0.6.0"
TABLES = {
    "bikeshare": (
        "Bikeshare.csv",
        "Capital Bikeshare hourly rentals, Washington DC, 2011 (ISLP's Bikeshare; from the UCI"
        " Bike Sharing Dataset, Fanaee-T and Gama 2013). Target bikers; casual and registered"
        " sum to it (drop them).",
    ),
    "wage": (
        "Wage.csv",
        "Wages of 3,000 male workers in the Mid-Atlantic region, from the March supplements"
        " of the Current Population Survey 2003-2009 (ISLP's Wage, as in ISLR's R package)."
        " Target wage in $1000s; logwage is its logarithm (drop it).",
    ),
    "hitters": (
        "Hitters.csv",
        "Major League Baseball players, 1986 and 1987 seasons (ISLP's Hitters, from ISLR; the"
        " StatLib baseball data). Target Salary, 1987 annual salary in $1000s (missing for 59).",
    ),
    "college": (
        "College.csv",
        "Statistics of 777 US colleges from US News and World Report, 1995 (ISLP's College)."
        " Target Apps, the number of applications received.",
    ),
}
COMMANDS = {
    "bikeshare": "--target bikers --drop casual,registered --metric mae",
    "wage": "--target wage --drop logwage --metric mae",
    "hitters": "--target Salary --metric mae",
    "college": "--target Apps --metric mae",
}
"""The compare flags of each table."""


def fetch(out: Path) -> list[Path]:
    """Download ISLP's wheel with pip and copy the tables out; return their paths."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", folder,
             f"ISLP=={VERSION}"],
            check=True,
        )  # fmt: skip
        wheel = next(Path(folder).glob("*.whl"))
        paths = []
        with zipfile.ZipFile(wheel) as archive:
            for name, (file, about) in TABLES.items():
                target = out / name / file
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(f"ISLP/data/{file}"))
                (out / name / "SOURCE.md").write_text(
                    f"# {file}\n\n{about}\n\nCopied unchanged from ISLP {VERSION} (PyPI wheel"
                    f" {wheel.name}, ISLP/data/{file}) by `python -m bench.peer_data`.\n"
                    f"Compare flags: `{COMMANDS[name]}`.\n"
                )
                paths.append(target)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    for path in fetch(args.out):
        print(path)


if __name__ == "__main__":
    main()
