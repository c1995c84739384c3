import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lgt_graph.errors import DataNotFoundError, UserError
from lgt_graph.evaluation.metrics import CLASSIFICATION_METRICS
from lgt_graph.tasks import TASKS, get_task, load_task_data
from lgt_graph.tasks.base import split
from lgt_graph.tasks.paths import data_dirs
from lgt_graph.tasks.tabular import load_csv
from tests.conftest import needs_data
from tests.exports import write_churn

MNIST_TRAIN = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def load(name, data_dir):
    return TASKS[name].loader(data_dirs(data_dir))


@needs_data
def test_mnist_loads_the_idx_files(data_dir):
    ds = load("mnist", data_dir)
    assert ds.X.shape == (60000, 1, 28, 28) and ds.X.dtype == np.uint8
    assert ds.X_test.shape == (10000, 1, 28, 28)
    assert np.bincount(ds.y).tolist() == MNIST_TRAIN
    assert np.bincount(ds.y_test).tolist() == MNIST_TEST
    assert ds.classes == tuple("0123456789")


@needs_data
def test_cifar10_loads_the_image_folder_copy(data_dir):
    ds = load("cifar10", data_dir)
    assert ds.X.shape == (50000, 3, 32, 32) and ds.X.dtype == np.uint8
    assert ds.X_test.shape == (10000, 3, 32, 32)
    assert np.bincount(ds.y).tolist() == [5000] * 10
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.classes[:3] == ("airplane", "automobile", "bird")
    # Pixel means agree with SOURCE.md's (125.27, 122.93, 113.86) for this copy.
    means = ds.X[::10].mean(axis=(0, 2, 3))
    assert np.allclose(means, [125.27, 122.93, 113.86], atol=1.0)


@needs_data
def test_water_keeps_its_missing_values(data_dir):
    ds = load("water", data_dir)
    assert ds.X.shape == (3276, 9)
    missing = ds.X.isna().sum()
    assert (missing["ph"], missing["Sulfate"], missing["Trihalomethanes"]) == (491, 781, 162)
    assert np.bincount(ds.y).tolist() == [1998, 1278]
    assert TASKS["water"].problem == "classification"


@needs_data
def test_wine_is_red_wine_quality_regression(data_dir):
    ds = load("wine", data_dir)
    assert ds.X.shape == (1599, 11)
    assert "fixed_acidity" in ds.X.columns
    values, counts = np.unique(ds.y, return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist(), strict=True)) == {
        3: 10,
        4: 53,
        5: 681,
        6: 638,
        7: 199,
        8: 18,
    }
    assert TASKS["wine"].problem == "regression" and TASKS["wine"].primary == "mae"


@needs_data
def test_house_is_the_papers_set_in_thousands_of_dollars(data_dir):
    ds = load("house", data_dir)
    assert ds.X.shape == (50000, 5)
    assert list(ds.X.columns) == [
        "SquareFeet",
        "Bedrooms",
        "Bathrooms",
        "Neighborhood",
        "YearBuilt",
    ]
    assert sorted(ds.X["Neighborhood"].unique()) == ["Rural", "Suburb", "Urban"]
    assert ds.y.mean() == pytest.approx(224.827, abs=0.01)


@needs_data
def test_california_is_scikit_learns_eight_features_in_thousands_of_dollars(data_dir):
    ds = load("california", data_dir)
    assert ds.X.shape == (20640, 8)
    assert list(ds.X.columns[:3]) == ["MedInc", "HouseAge", "AveRooms"]
    assert ds.y.min() == pytest.approx(14.999) and ds.y.max() == pytest.approx(500.001)
    assert ds.y.mean() == pytest.approx(206.856, abs=0.01)


def test_bundled_tasks_need_no_files(tmp_path):
    iris = TASKS["iris"].loader([tmp_path])
    assert iris.X.shape == (150, 4) and np.bincount(iris.y).tolist() == [50, 50, 50]
    digits = TASKS["digits"].loader([tmp_path])
    assert digits.X.shape == (1797, 1, 8, 8) and digits.X.max() == 255


@pytest.mark.parametrize("name", ["mnist", "cifar10", "water", "wine", "house", "california"])
def test_missing_data_names_the_files_expected(name, tmp_path):
    with pytest.raises(DataNotFoundError) as err:
        TASKS[name].loader([tmp_path])
    message = str(err.value)
    assert message.startswith(f"{name}: data not found. Expected ")
    assert str(tmp_path) in message
    assert TASKS[name].expected in message


def test_splits_are_disjoint_stratified_and_seeded():
    task = TASKS["iris"]
    a = load_task_data(task, seed=3)
    b = load_task_data(task, seed=3)
    c = load_task_data(task, seed=4)
    parts = [set(a.index[k].tolist()) for k in ("train", "val", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert sum(len(p) for p in parts) == 150
    assert (len(a.y_train), len(a.y_val), a.n_test) == (96, 24, 30)
    for key in ("train", "val", "test"):
        assert np.array_equal(a.index[key], b.index[key])
    assert not np.array_equal(a.index["test"], c.index["test"])
    with a.open_test():
        assert np.bincount(a.y_test).tolist() == [10, 10, 10]
    assert np.bincount(a.y_val).tolist() == [8, 8, 8]
    assert a.X_train.equals(b.X_train)


def test_the_test_split_is_sealed_outside_open_test():
    from lgt_graph.tasks.base import SealedSplitError
    from lgt_graph.training import train

    data = load_task_data(TASKS["iris"], seed=0)
    for read in (lambda: data.X_test, lambda: data.y_test):
        with pytest.raises(SealedSplitError, match="only the final refit"):
            read()
    default = {"model": "linear"}
    with pytest.raises(SealedSplitError):  # never swallowed as a failed trial
        train(default, data, score_test=True)
    with data.open_test():
        assert len(data.y_test) == data.n_test == 30
        scored = train(default, data, score_test=True)
    assert scored.ok and set(scored.test_metrics) == set(CLASSIFICATION_METRICS)
    with pytest.raises(SealedSplitError):  # sealed again afterwards
        _ = data.y_test


def test_an_official_test_split_is_kept_and_max_train_samples_subsamples():
    task = TASKS["digits"]
    data = load_task_data(task, seed=0, max_train_samples=100)
    assert len(data.y_train) == 100
    assert set(np.unique(data.y_train).tolist()) == set(range(10))
    assert data.notes == ["training split subsampled to 100 examples"]
    with pytest.raises(UserError, match="at least 1"):
        load_task_data(task, seed=0, max_train_samples=0)


@needs_data
def test_mnist_split_keeps_the_official_test_set(data_dir):
    data = load_task_data(TASKS["mnist"], seed=0, data_dir=data_dir, max_train_samples=500)
    assert data.n_test == 10000 and len(data.y_val) == 6000 and len(data.y_train) == 500
    assert not set(data.index["train"].tolist()) & set(data.index["val"].tolist())


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_csv_task_infers_the_problem_and_encodes_categories(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "size": rng.normal(size=60),
            "colour": rng.choice(["red", "blue"], size=60),
            "price": rng.normal(100, 10, size=60),
            "label": rng.choice(["yes", "no"], size=60),
        }
    )
    path = write_csv(tmp_path / "data.csv", frame)
    clf = get_task(f"csv:{path}", target="label")
    assert clf.family == "tabular_classification" and clf.primary == "accuracy"
    reg = get_task(f"csv:{path}", target="price")
    assert reg.family == "tabular_regression" and reg.primary == "mae"
    forced = get_task(f"csv:{path}", target="price", problem="classification")
    assert forced.family == "tabular_classification"
    data = load_task_data(clf, seed=0)
    assert data.classes == ("no", "yes")
    assert list(data.X_train.columns) == ["size", "colour", "price"]


@pytest.mark.parametrize(
    ("frame", "target", "message"),
    [
        (pd.DataFrame({"a": [1, 2, 3], "b": [0, 1, 0]}), "c", "no column 'c'; columns: a, b"),
        (pd.DataFrame({"a": range(9), "b": [1] * 9}), "b", "single class"),
        (
            pd.DataFrame({"a": [f"w{i % 60}" for i in range(90)], "b": [0, 1, 2] * 30}),
            "b",
            "column 'a' is not numeric and has 60 distinct values",
        ),
        (pd.DataFrame({"b": [0, 1, 0]}), "b", "no feature columns"),
    ],
)
def test_bad_csv_files_get_one_clear_error(tmp_path, frame, target, message):
    path = write_csv(tmp_path / "bad.csv", frame)
    with pytest.raises(UserError, match=message):
        load_task_data(get_task(f"csv:{path}", target=target), seed=0)


def test_csv_without_rows_or_target_flag(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n")
    with pytest.raises(UserError, match="no data rows"):
        load_task_data(get_task(f"csv:{empty}", target="b"), seed=0)
    with pytest.raises(UserError, match="need --target"):
        get_task(f"csv:{empty}")
    with pytest.raises(UserError, match="no such CSV file"):
        get_task(f"csv:{tmp_path / 'nope.csv'}", target="b")
    with pytest.raises(UserError, match="unknown task 'irsi'"):
        get_task("irsi")


def make_image_folder(root: Path, mode: str = "RGB") -> Path:
    rng = np.random.default_rng(0)
    for split_name, count in (("train", 6), ("test", 3)):
        for label in ("cat", "dog"):
            folder = root / split_name / label
            folder.mkdir(parents=True)
            for i in range(count):
                shape = (10, 12, 3) if mode == "RGB" else (10, 12)
                pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
                Image.fromarray(pixels, mode=mode).save(folder / f"{i}.png")
    return root


def test_imagefolder_task_from_a_folder_and_from_a_zip(tmp_path):
    root = make_image_folder(tmp_path / "pets")
    task = get_task(f"imagefolder:{root}")
    assert task.family == "image"
    data = load_task_data(task, seed=0)
    assert data.classes == ("cat", "dog")
    assert data.X_train.shape[1:] == (3, 10, 12)
    assert data.n_test == 6 and len(data.y_train) + len(data.y_val) == 12
    archive = tmp_path / "pets.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(root.rglob("*.png")):
            zf.write(path, Path("pets") / path.relative_to(root))
    from_zip = load_task_data(get_task(f"imagefolder:{archive}"), seed=0)
    with from_zip.open_test(), data.open_test():
        assert np.array_equal(np.sort(from_zip.X_test, axis=0), np.sort(data.X_test, axis=0))


def test_greyscale_image_folders_keep_one_channel(tmp_path):
    root = make_image_folder(tmp_path / "grey", mode="L")
    data = load_task_data(get_task(f"imagefolder:{root}"), seed=0)
    assert data.X_train.shape[1:] == (1, 10, 12)


def test_split_rejects_classes_too_rare_to_stratify():
    from lgt_graph.tasks.base import Dataset

    ds = Dataset(X=np.zeros((10, 2)), y=np.array([0] * 8 + [1] * 2))
    with pytest.raises(UserError, match="fewer than 3 examples"):
        split(TASKS["iris"], ds, seed=0)


def test_data_dir_precedence_flag_then_environment_then_user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LGT_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    user = tmp_path / "xdg" / "lgt_graph" / "data"
    assert data_dirs(tmp_path / "flag") == [tmp_path / "flag", user]
    assert data_dirs() == [tmp_path / "env", user]
    monkeypatch.delenv("LGT_DATA_DIR")
    assert data_dirs() == [user]


def test_the_first_data_dir_holding_the_files_wins(tmp_path):
    for name, rows in (("a", 5), ("b", 7)):
        folder = tmp_path / name / "wine"
        folder.mkdir(parents=True)
        frame = pd.DataFrame({"fixed acidity": np.arange(rows, dtype=float), "quality": 5})
        frame.to_csv(folder / "winequality-red.csv", sep=";", index=False)
    assert len(TASKS["wine"].loader([tmp_path / "a", tmp_path / "b"]).y) == 5
    assert len(TASKS["wine"].loader([tmp_path / "missing", tmp_path / "b"]).y) == 7


def test_a_european_csv_loads_with_notes_for_what_was_changed(tmp_path):
    # ; between columns, decimal commas, and a quarter of the targets missing
    rows = [
        f"{i};{i / 7:.3f}".replace(".", ",") + f";{'' if i % 4 == 0 else i % 3}" for i in range(80)
    ]
    path = tmp_path / "european.csv"
    path.write_text("a;b;label\n" + "\n".join(rows) + "\n")
    data = load_task_data(get_task(f"csv:{path}", "label"), 0)
    assert str(data.X_train["b"].dtype) == "float64"
    assert "column 'b' holds numbers with decimal commas: read as numbers" in data.notes
    assert "20 of 80 rows (25%) have no 'label' value and were dropped" in data.notes


def test_date_columns_become_numeric_parts_or_are_dropped_with_a_note(tmp_path):
    days = pd.date_range("2023-01-01", periods=60, freq="7D")
    frame = pd.DataFrame(
        {
            "opened": days.strftime("%Y-%m-%d"),
            "eu": days.strftime("%d/%m/%Y"),  # the day first: 15/01/2023 settles it
            "stamp": (days + pd.Timedelta(hours=13, minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"),
            "broken": [f"2023-{13 + i % 5}-{40 + i % 9}" for i in range(60)],  # no such dates
            "x": np.arange(60, dtype=float),
            "label": np.arange(60) % 2,
        }
    )
    frame.loc[3, "opened"] = "2023-02-30"
    path = tmp_path / "dated.csv"
    frame.to_csv(path, index=False)
    data = load_csv(path, "label", None)
    features = data.X
    assert "opened" not in features and "broken" not in features
    assert all(str(features[c].dtype) == "float64" for c in features.columns)
    expected = features
    eu = expected[["eu_year", "eu_month", "eu_day", "eu_weekday"]].to_numpy()
    truth = np.column_stack([days.year, days.month, days.day, days.day_of_week])
    assert np.array_equal(eu, truth)  # the day-first dates read as the same days
    assert np.allclose(expected["stamp_hour"], 13.5)
    assert "opened_hour" not in features and "eu_hour" not in features  # no times, no hour
    assert expected["opened_day"].isna().sum() == 1  # 30 February is missing, not a row lost
    assert (
        "column 'opened' holds dates: expanded into opened_year, opened_month, opened_day,"
        " opened_weekday; 1 unreadable values are missing"
    ) in data.notes
    assert any(
        n.startswith("column 'broken' looks like dates, but 60 of 60 values could not be read")
        and n.endswith("dropped (write them as YYYY-MM-DD to keep it)")
        for n in data.notes
    ), data.notes


def test_a_text_column_of_many_values_says_when_they_look_like_dates(tmp_path):
    values = [f"2023-01-{1 + i % 28:02d}" if i % 3 else f"week {i}" for i in range(90)]
    path = tmp_path / "mixed.csv"
    pd.DataFrame({"when": values, "label": np.arange(90) % 2}).to_csv(path, index=False)
    with pytest.raises(UserError, match="look like dates: write them all as YYYY-MM-DD"):
        load_task_data(get_task(f"csv:{path}", "label"), 0)


def test_a_churn_export_loads_as_it_comes(tmp_path):
    path = tmp_path / "churn.csv"
    written = write_churn(path)
    data = load_csv(path, "Churn", None)
    features = data.X
    assert "customerID" not in features and "Unnamed: 0" not in features
    assert list(features.columns[:2]) == ["gender", "tenure"]  # no BOM in the first name
    assert str(features["TotalCharges"].dtype) == "float64"
    blanks = int((written["TotalCharges"] == " ").sum())
    assert features["TotalCharges"].isna().sum() == blanks + 1  # the blanks and the '?'
    assert set(features["PaymentMethod"]) >= {"Credit card, automatic"}  # quoted, kept whole
    assert "SignupDate_year" in features and "SignupDate" not in features
    assert data.classes == ("No", "Yes") and len(data.y) == len(written)
    assert data.notes == [
        f"column 'TotalCharges' holds numbers but for {blanks} blank cells and 1 cells of '?':"
        " read as numbers, those cells as missing",
        "column 'SignupDate' holds dates: expanded into SignupDate_year, SignupDate_month,"
        " SignupDate_day, SignupDate_weekday",
        "column 'Unnamed: 0' is a saved row index (0, 1, 2, …): dropped",
        "column 'customerID' holds a different text in every row (an ID): dropped",
    ]


def test_columns_the_header_leaves_unnamed_are_dropped_when_empty_else_named(tmp_path):
    # a comma at the end of every line makes an empty, unnamed column; the third has values
    rows = "".join(f"{i},{i % 7},{i % 2},\n" for i in range(40))
    path = tmp_path / "trailing.csv"
    path.write_text("a,,label,\n" + rows)
    data = load_csv(path, "label", None)
    assert list(data.X.columns) == ["a", "Unnamed: 1"]
    assert data.notes == [
        "column 'Unnamed: 1' has no name in the header: kept under the name pandas gives it"
        " (--drop 'Unnamed: 1' leaves it out)",
        "column 'Unnamed: 3' has no name in the header and no values: dropped",
    ]
    kept = load_csv(path, "label", None, drop=("Unnamed: 1",))
    assert list(kept.X.columns) == ["a"]


def test_drop_leaves_columns_out_and_says_what_there_is(tmp_path):
    path = tmp_path / "churn.csv"
    write_churn(path)
    data = load_task_data(get_task(f"csv:{path}", "Churn", drop=("gender", "Contract")), 0)
    assert not {"gender", "Contract"} & set(data.X_train.columns)
    with pytest.raises(UserError, match=r"--drop gendre: no such column; columns: .*gender"):
        get_task(f"csv:{path}", "Churn", drop=("gendre",)).loader([])
    with pytest.raises(UserError, match="--drop Churn: that is the target column"):
        get_task(f"csv:{path}", "Churn", drop=("Churn",)).loader([])
    with pytest.raises(UserError, match="apply to csv:<path> tasks only, not iris"):
        get_task("iris", drop=("sepal",))
