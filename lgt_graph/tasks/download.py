"""Opt-in download of the datasets from their canonical sources, checksum verified.

Nothing is downloaded unless the user runs ``python -m lgt_graph download TASK``;
tests and runs never reach the network.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from lgt_graph.errors import UserError
from lgt_graph.tasks.paths import DATA_ENV, user_data_dir


@dataclass(frozen=True)
class Remote:
    """One file of a dataset: where it comes from, where it goes, and its checksum."""

    url: str
    dest: str
    """Path under the data directory, in the layout the loaders read."""
    digest: str
    algorithm: str = "md5"
    member: str = ""
    """For an archive: the member to extract next to it (the archive is kept)."""
    member_dest: str = ""

    @property
    def filename(self) -> str:
        """Return the file's own name, as a mirror serves it."""
        return Path(self.dest).name


_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_UCI_WINE = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/"

SOURCES: dict[str, list[Remote]] = {
    "mnist": [
        Remote(f"{_MNIST}{name}.gz", f"mnist/MNIST/raw/{name}.gz", digest)
        for name, digest in (
            ("train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            ("train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432"),
            ("t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3"),
            ("t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c"),
        )
    ],
    "cifar10": [
        Remote(
            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            "cifar10/cifar-10-python.tar.gz",
            "c58f30108f718f92721af3b95e74349a",
        )
    ],
    "wine": [
        Remote(
            f"{_UCI_WINE}winequality-red.csv",
            "wine/winequality-red.csv",
            "2daeecee174368f8a33b82c8cccae3a5",
        ),
        Remote(
            f"{_UCI_WINE}winequality-white.csv",
            "wine/winequality-white.csv",
            "5d9ff0f7f716dace19e3ab4578775fd7",
        ),
    ],
    "california": [
        # scikit-learn's source of California housing (fetch_california_housing).
        Remote(
            "https://ndownloader.figshare.com/files/5976036",
            "house/cal_housing.tgz",
            "aaa5c9a6afe2225cc2aed2723682ae403280c4a3695a2ddda4ffb5d8215ea681",
            algorithm="sha256",
            member="CaliforniaHousing/cal_housing.data",
            member_dest="house/cal_housing.data",
        )
    ],
}
NOT_DOWNLOADABLE = {
    "water": "Water Potability is on Kaggle (adityakadiwal/water-potability), which needs a"
    " login: download water_potability.csv there and put it in <data dir>/water/",
    "house": "The paper's House Price set is Kaggle's \"Housing Price Prediction Data\","
    " which needs a login: download"
    " housing_price_dataset.csv there and put it in <data dir>/house/housing_price_prediction/",
    "iris": "iris ships with scikit-learn: nothing to download",
    "digits": "digits ship with scikit-learn: nothing to download",
}


def target_dir(explicit: str | None) -> Path:
    """Return the writable data directory downloads go to."""
    chosen = explicit or os.environ.get(DATA_ENV)
    path = Path(chosen).expanduser() if chosen else user_data_dir()
    path.mkdir(parents=True, exist_ok=True)
    if not os.access(path, os.W_OK):
        raise UserError(f"{path}: not writable; choose another folder with --data-dir")
    return path


def download(task: str, data_dir: str | None = None, mirror: str | None = None) -> Path:
    """Fetch every file of ``task`` into the data directory; return that directory."""
    if task in NOT_DOWNLOADABLE:
        raise UserError(NOT_DOWNLOADABLE[task])
    if task not in SOURCES:
        raise UserError(f"no download for {task!r}; downloadable: {', '.join(SOURCES)}")
    chosen = data_dir or os.environ.get(DATA_ENV)
    made = _missing(Path(chosen).expanduser() if chosen else user_data_dir())
    root = target_dir(data_dir)
    try:
        for remote in SOURCES[task]:
            dest = root / remote.dest
            made += _missing(dest.parent)
            if not (dest.is_file() and _digest(dest, remote.algorithm) == remote.digest):
                url = f"{mirror.rstrip('/')}/{remote.filename}" if mirror else remote.url
                fetch(url, dest, remote.digest, remote.algorithm)
            if remote.member:
                _extract(dest, remote.member, root / remote.member_dest)
    except BaseException:
        for folder in sorted(made, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: a failed download leaves no empty folders
        raise
    return root


def _missing(path: Path) -> list[Path]:
    """Return ``path`` and those of its parents that do not exist yet."""
    out = []
    while not path.exists() and path != path.parent:
        out.append(path)
        path = path.parent
    return out


def fetch(url: str, dest: Path, digest: str, algorithm: str = "md5", timeout: float = 60.0) -> None:
    """Download ``url`` to ``dest`` with a progress bar; keep it only if its checksum matches."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    hasher = hashlib.new(algorithm)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while chunk := response.read(1 << 16):
                out.write(chunk)
                hasher.update(chunk)
                done += len(chunk)
                _bar(dest.name, done, total)
        print(file=sys.stderr)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        part.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise UserError(
            f"could not download {url}: {reason}. Without a network, copy the file to {dest}"
        ) from None
    if hasher.hexdigest() != digest:
        part.unlink(missing_ok=True)
        raise UserError(
            f"{url}: checksum mismatch ({algorithm} {hasher.hexdigest()}, expected {digest});"
            " the file was discarded"
        )
    part.replace(dest)


def _digest(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


def _extract(archive: Path, member: str, dest: Path) -> None:
    if dest.is_file():
        return
    with tarfile.open(archive) as tar:
        handle = tar.extractfile(member)
        if handle is None:
            raise UserError(f"{archive}: no member {member}")
        part = dest.with_name(dest.name + ".part")
        part.write_bytes(handle.read())
        part.replace(dest)


def _bar(name: str, done: int, total: int) -> None:
    if total:
        filled = int(30 * done / total)
        text = f"\r{name} [{'#' * filled}{'.' * (30 - filled)}] {100 * done / total:5.1f}%"
    else:
        text = f"\r{name} {done / 1e6:.1f} MB"
    print(text, end="", file=sys.stderr, flush=True)
