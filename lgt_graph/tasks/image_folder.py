"""Your own images: ``{train,test}/<class>/<image>`` in a folder or a zip file.

Decoded arrays are cached outside the data directory, keyed by the files' fingerprint.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

from lgt_graph.errors import UserError
from lgt_graph.tasks.base import Dataset
from lgt_graph.tasks.files import cached_arrays, source_key

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def load_image_folder(root: Path, name: str = "imagefolder") -> Dataset:
    """Load ``{train,test}/<class>/<image>`` from a folder or a zip file.

    Classes are the sorted class-folder names (torchvision's ImageFolder order).
    Images are converted to RGB, or kept single-channel when every image is
    greyscale; images of another size than the most common one are resized to it.
    """
    if not root.exists():
        raise UserError(f"{root}: no such folder or zip file")
    entries = _list_images(root)
    if not any(split == "train" for split, _, _ in entries):
        raise UserError(
            f"{root}: no images found in train/<class>/ (expected {{train,test}}/<class>/*.jpg)"
        )
    arrays = cached_arrays(name, source_key(root), lambda: _decode_folder(root, entries))
    classes = tuple(str(c) for c in arrays["classes"])
    has_test = arrays["X_test"].shape[0] > 0
    return Dataset(
        X=arrays["X"],
        y=arrays["y"],
        X_test=arrays["X_test"] if has_test else None,
        y_test=arrays["y_test"] if has_test else None,
        classes=classes,
        source=str(root),
    )


def _list_images(root: Path) -> list[tuple[str, str, str]]:
    """Return (split, class, member) for every image, sorted; member is a path or zip name."""
    if root.is_dir():
        names = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
    elif zipfile.is_zipfile(root):
        with zipfile.ZipFile(root) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
    else:
        raise UserError(f"{root}: neither a folder nor a zip file")
    entries = []
    for name in names:
        parts = Path(name).parts
        if Path(name).suffix.lower() not in IMAGE_SUFFIXES or len(parts) < 3:
            continue
        split, label = parts[-3], parts[-2]
        if split in ("train", "test"):
            entries.append((split, label, name))
    return sorted(entries)


def _decode_folder(root: Path, entries: list[tuple[str, str, str]]) -> dict[str, np.ndarray]:
    from PIL import Image

    archive = zipfile.ZipFile(root) if root.is_file() else None

    def read(member: str) -> bytes:
        if archive is not None:
            return archive.read(member)
        return (root / member).read_bytes()

    images, labels, splits = [], [], []
    try:
        for split, label, member in entries:
            image = Image.open(io.BytesIO(read(member)))
            image.load()
            images.append(image)
            labels.append(label)
            splits.append(split)
    finally:
        if archive is not None:
            archive.close()
    grey = all(im.mode in ("L", "1", "I;16", "I") for im in images)
    mode = "L" if grey else "RGB"
    size = Counter(im.size for im in images).most_common(1)[0][0]
    pixels = []
    for original in images:
        converted = original.convert(mode)
        if converted.size != size:
            converted = converted.resize(size)
        array = np.asarray(converted, dtype=np.uint8)
        pixels.append(array[None] if grey else array.transpose(2, 0, 1))
    classes = sorted(set(labels))
    lookup = {c: i for i, c in enumerate(classes)}
    X = np.stack(pixels)
    y = np.array([lookup[c] for c in labels], dtype=np.int64)
    is_test = np.array([s == "test" for s in splits])
    return {
        "X": X[~is_test],
        "y": y[~is_test],
        "X_test": X[is_test],
        "y_test": y[is_test],
        "classes": np.array(classes),
    }
