"""Image datasets: MNIST (IDX files), CIFAR-10 (python batches or image folders), digits.

Your own ``{train,test}/<class>/`` folders are read by :mod:`lgt_graph.tasks.image_folder`.

Every loader returns ``uint8`` arrays shaped (N, C, H, W). Decoding JPEGs or
pickles is slow, so decoded arrays are cached outside the data directory.
"""

from __future__ import annotations

import gzip
import pickle
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from lgt_graph.errors import UserError
from lgt_graph.tasks.base import Dataset
from lgt_graph.tasks.files import cached_arrays, first_match, missing, source_key
from lgt_graph.tasks.image_folder import load_image_folder

MNIST_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
MNIST_SUBDIRS = ("mnist/MNIST/raw", "MNIST/raw", "mnist/raw", "mnist")
MNIST_EXPECTED = "MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (torchvision's layout)"

CIFAR_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
CIFAR_SUBDIRS = ("cifar10", "cifar-10", "")
CIFAR_EXPECTED = (
    "cifar10/cifar-10-batches-py/ (or cifar-10-python.tar.gz), or an image-folder copy"
    " cifar10/{train,test}/<class>/*.jpg (as a folder or a .zip)"
)


# --- MNIST -----------------------------------------------------------------


def _idx_path(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def mnist_dir(dirs: Sequence[Path]) -> Path | None:
    """Return the folder that holds the four MNIST IDX files, if any data dir has it."""
    return first_match(dirs, MNIST_SUBDIRS, lambda p: all(_idx_path(p, n) for n in MNIST_NAMES))


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise UserError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise UserError(f"{path}: truncated IDX file ({data.size} of {np.prod(dims)} values)")
    return data.reshape(tuple(dims))


def load_mnist(dirs: Sequence[Path]) -> Dataset:
    """Load MNIST's 60k training and 10k test digits from the IDX files."""
    folder = mnist_dir(dirs)
    if folder is None:
        raise missing(
            "mnist",
            dirs,
            MNIST_EXPECTED,
            "Or fetch them: python -m lgt_graph download mnist",
        )
    paths = [_idx_path(folder, n) for n in MNIST_NAMES]
    train_x, train_y, test_x, test_y = (read_idx(p) for p in paths if p is not None)
    return Dataset(
        X=train_x[:, None, :, :],
        y=train_y.astype(np.int64),
        X_test=test_x[:, None, :, :],
        y_test=test_y.astype(np.int64),
        classes=tuple(str(d) for d in range(10)),
        source=str(folder),
    )


# --- CIFAR-10 ----------------------------------------------------------------


def _cifar_source(path: Path) -> Path | None:
    """Return the CIFAR-10 copy inside ``path``, in order of preference, if there is one."""
    batches = path / "cifar-10-batches-py"
    if (batches / "test_batch").is_file():
        return batches
    for name in ("cifar-10-python.tar.gz", "cifar10-jpeg.zip", "cifar10.zip"):
        if (path / name).is_file():
            return path / name
    if (path / "train").is_dir() and (path / "test").is_dir():
        return path
    return None


def cifar_source(dirs: Sequence[Path]) -> Path | None:
    """Return the first CIFAR-10 copy found in the data directories."""
    found = first_match(dirs, CIFAR_SUBDIRS, lambda p: _cifar_source(p) is not None)
    return _cifar_source(found) if found is not None else None


def load_cifar10(dirs: Sequence[Path]) -> Dataset:
    """Load CIFAR-10 from the python batches, their tarball, or an image-folder copy."""
    source = cifar_source(dirs)
    if source is None:
        raise missing(
            "cifar10",
            dirs,
            CIFAR_EXPECTED,
            "Or fetch the canonical tarball: python -m lgt_graph download cifar10",
        )
    if source.name == "cifar-10-batches-py" or source.name.endswith(".tar.gz"):
        arrays = cached_arrays("cifar10-batches", source_key(source), lambda: _read_batches(source))
        return Dataset(
            X=arrays["X"],
            y=arrays["y"],
            X_test=arrays["X_test"],
            y_test=arrays["y_test"],
            classes=CIFAR_CLASSES,
            source=str(source),
        )
    dataset = load_image_folder(source, name="cifar10")
    if dataset.classes != CIFAR_CLASSES:
        raise UserError(f"{source}: expected the ten CIFAR-10 class folders, got {dataset.classes}")
    dataset.source = f"{source} (image-folder copy; JPEG pixels may differ from canonical)"
    return dataset


def _read_batches(source: Path) -> dict[str, np.ndarray]:
    def batches() -> Iterator[tuple[str, bytes]]:
        if source.is_dir():
            for path in sorted(source.iterdir()):
                yield path.name, path.read_bytes()
            return
        with tarfile.open(source, "r:gz") as tar:
            for member in tar.getmembers():
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is not None:
                    yield Path(member.name).name, handle.read()

    train: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    test = None
    for name, blob in batches():
        if not (name.startswith("data_batch_") or name == "test_batch"):
            continue
        entry = pickle.loads(blob, encoding="bytes")
        X = np.asarray(entry[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        y = np.asarray(entry[b"labels"], dtype=np.int64)
        if name == "test_batch":
            test = (X, y)
        else:
            train[name] = (X, y)
    if len(train) != 5 or test is None:
        raise UserError(f"{source}: expected data_batch_1..5 and test_batch")
    ordered = [train[f"data_batch_{i}"] for i in range(1, 6)]
    return {
        "X": np.concatenate([x for x, _ in ordered]),
        "y": np.concatenate([y for _, y in ordered]),
        "X_test": test[0],
        "y_test": test[1],
    }


# --- digits ------------------------------------------------------------------


def load_digits(dirs: Sequence[Path]) -> Dataset:
    """Load scikit-learn's bundled 8×8 digits, scaled from 0-16 to 0-255."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    X = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None, :, :]
    return Dataset(
        X=X,
        y=bunch.target.astype(np.int64),
        classes=tuple(str(d) for d in range(10)),
        source="sklearn.datasets.load_digits",
    )
