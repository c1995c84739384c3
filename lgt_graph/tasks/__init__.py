"""The registry of tasks: built-in datasets and the user's own CSV files and image folders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lgt_graph.errors import UserError
from lgt_graph.evaluation.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS
from lgt_graph.space import Family
from lgt_graph.tasks import image_folder, images, tabular
from lgt_graph.tasks.base import Dataset, Problem, Task, TaskData, split
from lgt_graph.tasks.paths import data_dirs

__all__ = ["TASKS", "Dataset", "Task", "TaskData", "get_task", "load_task_data"]


def _always(dirs: Sequence[Path]) -> bool:
    return True


def _has(subdirs: Sequence[str], name: str):  # type: ignore[no-untyped-def]
    return lambda dirs: tabular.find_file(dirs, subdirs, name) is not None


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            "mnist",
            "image",
            "Handwritten digits, 28×28 greyscale, 10 classes (60k/10k)",
            images.load_mnist,
            images.MNIST_EXPECTED,
            lambda dirs: images.mnist_dir(dirs) is not None,
            CLASSIFICATION_METRICS,
            "accuracy",
            val_fraction=0.1,
        ),
        Task(
            "cifar10",
            "image",
            "Small photos, 32×32 RGB, 10 classes (50k/10k)",
            images.load_cifar10,
            images.CIFAR_EXPECTED,
            lambda dirs: images.cifar_source(dirs) is not None,
            CLASSIFICATION_METRICS,
            "accuracy",
            val_fraction=0.1,
        ),
        Task(
            "digits",
            "image",
            "scikit-learn's 8×8 handwritten digits, 10 classes (1797)",
            images.load_digits,
            "nothing (bundled with scikit-learn)",
            _always,
            CLASSIFICATION_METRICS,
            "accuracy",
        ),
        Task(
            "iris",
            "tabular_classification",
            "Fisher's iris: 4 measurements, 3 species (150)",
            tabular.load_iris,
            "nothing (bundled with scikit-learn)",
            _always,
            CLASSIFICATION_METRICS,
            "accuracy",
        ),
        Task(
            "water",
            "tabular_classification",
            "Water potability: 9 measurements with missing values, binary (3276)",
            tabular.load_water,
            tabular.WATER_EXPECTED,
            _has(("water", ""), "water_potability.csv"),
            CLASSIFICATION_METRICS,
            "accuracy",
        ),
        Task(
            "wine",
            "tabular_regression",
            "Red wine quality score (0-10) from 11 physicochemical measurements (1599)",
            tabular.load_wine,
            tabular.WINE_EXPECTED,
            _has(("wine", ""), "winequality-red.csv"),
            REGRESSION_METRICS,
            "mae",
        ),
        Task(
            "house",
            "tabular_regression",
            "House Price (the paper's set): price in $1000s from 5 features (50000)",
            tabular.load_house,
            tabular.HOUSE_EXPECTED,
            _has(
                ("house/housing_price_prediction", "housing_price_prediction", "house", ""),
                "housing_price_dataset.csv",
            ),
            REGRESSION_METRICS,
            "mae",
        ),
        Task(
            "california",
            "tabular_regression",
            "California housing: median house value in $1000s from 8 block features (20640)",
            tabular.load_california,
            tabular.CALIFORNIA_EXPECTED,
            _has(("house", "california", ""), "cal_housing.data"),
            REGRESSION_METRICS,
            "mae",
        ),
    )
}

PATTERNS = {
    "csv:<path>": "your CSV file; --target names the label column (--problem to override)",
    "imagefolder:<path>": "your images as {train,test}/<class>/*, a folder or a .zip",
}


def get_task(
    spec: str,
    target: str | None = None,
    problem: Problem | None = None,
    drop: Sequence[str] = (),
) -> Task:
    """Return the task a ``--task`` value names: built-in, ``csv:PATH`` or ``imagefolder:PATH``.

    ``drop`` names columns of a CSV to leave out (``--drop``).
    """
    kind, sep, rest = spec.partition(":")
    if sep and kind == "csv":
        return _csv_task(Path(rest).expanduser(), target, problem, tuple(drop or ()))
    if target is not None or problem is not None or drop:
        raise UserError(
            f"--target, --problem and --drop apply to csv:<path> tasks only, not {spec}"
        )
    if sep and kind == "imagefolder":
        return _imagefolder_task(Path(rest).expanduser())
    if spec in TASKS:
        return TASKS[spec]
    names = ", ".join([*TASKS, *PATTERNS])
    raise UserError(f"unknown task {spec!r}; tasks: {names}")


def load_task_data(
    task: Task,
    seed: int = 0,
    data_dir: str | Path | None = None,
    max_train_samples: int | None = None,
) -> TaskData:
    """Load a task's data and split it by ``seed``."""
    dirs = data_dirs(data_dir)
    dataset = task.loader(dirs)
    return split(task, dataset, seed, max_train_samples)


def _csv_task(
    path: Path, target: str | None, problem: Problem | None, drop: tuple[str, ...]
) -> Task:
    if not target:
        raise UserError("csv:<path> tasks need --target COLUMN (the label column)")
    if not path.is_file():
        raise UserError(f"{path}: no such CSV file")
    if problem is None:
        import pandas as pd

        try:
            column = pd.read_csv(path, usecols=[target])[target]
        except ValueError:
            column = None  # load_csv reports the missing column with the full list
        except Exception as exc:
            raise UserError(f"{path}: not a readable CSV file ({exc})") from None
        problem = tabular.infer_problem(column) if column is not None else "classification"
    family: Family = (
        "tabular_classification" if problem == "classification" else "tabular_regression"
    )
    metrics = CLASSIFICATION_METRICS if problem == "classification" else REGRESSION_METRICS
    chosen = problem

    def loader(dirs: Sequence[Path]) -> Dataset:
        return tabular.load_csv(path, target, chosen, drop)

    return Task(
        f"csv:{path}",
        family,
        f"{path.name}, target {target!r} ({problem})",
        loader,
        str(path),
        lambda dirs: path.is_file(),
        metrics,
        metrics[0],
    )


def _imagefolder_task(path: Path) -> Task:
    if not path.exists():
        raise UserError(f"{path}: no such folder or zip file")

    def loader(dirs: Sequence[Path]) -> Dataset:
        return image_folder.load_image_folder(path)

    return Task(
        f"imagefolder:{path}",
        "image",
        f"images in {path} ({{train,test}}/<class>/)",
        loader,
        str(path),
        lambda dirs: path.exists(),
        CLASSIFICATION_METRICS,
        "accuracy",
    )
