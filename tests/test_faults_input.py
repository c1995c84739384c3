"""Fault suite, the user's input: every bad flag, file or folder is one clear line, exit 2.

Each case runs the CLI's entry point (in this process: a traceback would fail the test;
tests/test_cli.py runs a sample as subprocesses) in an empty working folder; afterwards
the folder holds nothing (no MLflow store, checkpoints or artifacts).
"""

import pytest

from lgt_graph.cli import main

CASES = [
    # unknown task, in each command
    (["run", "--task", "nope"], "unknown task 'nope'"),
    (["trial", "--task", "nope"], "unknown task 'nope'"),
    (["compare", "--task", "iris,nope", "--out", "o"], "unknown task 'nope'"),
    # malformed --set
    (["trial", "--task", "iris", "--set", "depth"], "--set expects knob=value"),
    (["trial", "--task", "iris", "--set", "nosuch=1"], "unknown knob 'nosuch'"),
    (["trial", "--task", "iris", "--set", "dropout=abc"], "dropout='abc' is not a number"),
    (["trial", "--task", "iris", "--set", "depth=99"], "depth=99 is out of range"),
    (["trial", "--task", "iris", "--set", "model=transformer"], "model='transformer'"),
    # unknown node
    (["run", "--task", "iris", "--node", "advisor=nosuch"], "no such built-in"),
    (["run", "--task", "iris", "--node", "nosuch=random"], "unknown slot 'nosuch'"),
    (["run", "--task", "iris", "--node", "advisor=no_module_here:X"], "cannot import"),
    (["run", "--task", "iris", "--node", "advisor"], "--node"),
    # CSV files
    (["run", "--task", "csv:{d}/nocol.csv", "--target", "y"], "no column 'y'; columns: a, b"),
    (["run", "--task", "csv:{d}/text.csv", "--target", "y"], "leave it out with --drop b"),
    (["run", "--task", "csv:{d}/oneclass.csv", "--target", "y"], "a single class (cat)"),
    (["run", "--task", "csv:{d}/norows.csv", "--target", "y"], "the file has no data rows"),
    (["run", "--task", "csv:{d}/empty.csv", "--target", "y"], "not a readable CSV file"),
    (["run", "--task", "csv:{d}/binary.csv", "--target", "y"], "not a readable CSV file"),
    (["run", "--task", "csv:{d}/nocol.csv"], "need --target COLUMN"),
    # a header naming a column twice: pandas would rename the copy (a.1), a feature beside
    # its twin as the target; refused whichever name --target or --drop gives
    (
        ["run", "--task", "csv:{d}/twice.csv", "--target", "a"],
        "csv: the header names a column more than once: 'a' (columns 1 and 2, which pandas"
        " would read as 'a' and 'a.1'); give each column a name of its own",
    ),
    (["trial", "--task", "csv:{d}/twice.csv", "--target", "a.1"], "names a column more than"),
    (
        ["compare", "--task", "csv:{d}/twice.csv", "--target", "y", "--drop", "a.1", "--out", "o"],
        "names a column more than once: 'a'",
    ),
    (["run", "--task", "csv:{d}/missing.csv", "--target", "y"], "no such CSV file"),
    (
        ["trial", "--task", "csv:{d}/text.csv", "--target", "b", "--problem", "regression"],
        "regression needs a numeric target",
    ),
    # data folders
    (["run", "--task", "iris", "--data-dir", "/no/such/dir"], "--data-dir /no/such/dir: no such"),
    (["run", "--task", "iris", "--data-dir", "{d}/afile"], "not a folder"),
    (["run", "--task", "wine", "--data-dir", "{d}"], "wine: data not found"),
    (["run", "--task", "wine", "--data-dir", "{d}/garbage"], "not a readable CSV file"),
    (["run", "--task", "mnist", "--data-dir", "{d}"], "mnist: data not found"),
    # tracking URIs
    (["run", "--task", "iris", "--tracking-uri", "bogus://x"], "unknown scheme 'bogus'"),
    (["run", "--task", "iris", "--tracking-uri", "sqlite:////no/such/x.db"], "does not exist"),
    (["trial", "--task", "iris", "--tracking-uri", "just words"], "is not a URI"),
    (["run", "--task", "iris", "--tracking-uri", "sqlite:///{d}/notes.db"], "not an SQLite"),
    (["report", "abc", "--tracking-uri", "sqlite:///{d}/notes.db"], "not an SQLite database"),
    (["ui", "--tracking-uri", "sqlite:///{d}/notes.db"], "not an SQLite database"),
    (["run", "--task", "iris", "--tracking-uri", "sqlite:///{d}/garbage"], "is a folder"),
    # budgets and other numbers
    (["run", "--task", "iris", "--budget", "0"], "--budget must be at least 1"),
    (["run", "--task", "iris", "--budget", "-3"], "--budget must be at least 1"),
    (["compare", "--task", "iris", "--budget", "0", "--out", "o"], "--budget must be at least"),
    (["run", "--task", "iris", "--budget", "ten"], "invalid int value"),
    (["run", "--task", "iris", "--patience", "0"], "--patience must be at least 1"),
    (["run", "--task", "iris", "--max-train-samples", "0"], "--max-train-samples must be"),
    (["run", "--task", "iris", "--timeout", "0"], "--timeout must be positive"),
    (["run", "--task", "iris", "--limit", "epochs"], "--limit expects knob=MAX"),
    (["run", "--task", "iris", "--limit", "nosuch=3"], "unknown knob 'nosuch'"),
    (["compare", "--task", "iris", "--seeds", "abc", "--out", "o"], "--seeds 'abc'"),
    (["compare", "--task", "iris", "--methods", "foo", "--out", "o"], "unknown method 'foo'"),
    # models and sessions
    (["run", "--task", "iris", "--llm", "bogus"], "--llm 'bogus'"),
    (["run", "--task", "iris", "--llm", "openai:x"], "needs OPENAI_API_KEY, or --base-url"),
    (["run", "--task", "iris", "--llm", "gguf:/no/such/model.gguf"], "no such file"),
    (["run", "--task", "iris", "--llm", "gguf:{d}/notes.db"], "is not a GGUF model file"),
    (["run", "--task", "iris", "--context-window", "100"], "--context-window must be at least"),
    (["run", "--task", "iris", "--structured-output", "xml"], "invalid choice: 'xml'"),
    (["run", "--resume", "nosuch"], "--resume nosuch: no checkpoint database"),
    (["run"], "run needs --task"),
    (["run", "--task", "iris", "--resume", "x"], "leave out --task"),
    (["run", "--method", "bayes", "--resume", "x"], "leave out --task/--method"),
    (["run", "--task", "iris", "--method", "tpe"], "argument --method: invalid choice: 'tpe'"),
    (["run", "--task", "iris", "--node", "advisor=tpe"], "no such built-in; built-ins: llm"),
    (["run", "--task", "iris", "--node", "advisor=nodes.search:SearchAdvisor?grid"], "?key=value"),
    (
        [
            "run",
            "--task",
            "iris",
            "--node",
            "advisor=lgt_graph.nodes.search:SearchAdvisor?method=lgt",
        ],
        "lgt is not a baseline",
    ),
    (["run", "--task", "iris", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    # too little or odd data, seeds and metrics a session cannot use
    (["run", "--task", "csv:{d}/one.csv", "--target", "y"], "1 rows; at least 10 are needed"),
    (["run", "--task", "csv:{d}/three.csv", "--target", "y"], "3 rows; at least 10 are needed"),
    (["run", "--task", "iris", "--seed", "-1"], "--seed must be an integer from 0 to 2**32 - 1"),
    (["run", "--task", "iris", "--seed", "4294967296"], "--seed must be an integer from 0"),
    (["run", "--task", "iris", "--seed", "1e23"], "invalid int value: '1e23'"),
    (["run", "--task", "iris", "--metric", "mae"], "--metric mae does not score classification"),
    (["run", "--task", "iris", "--metric", "auc"], "argument --metric: invalid choice: 'auc'"),
    (
        ["run", "--task", "csv:{d}/commas.csv", "--target", "y", "--problem", "regression"],
        "look like numbers with decimal commas",
    ),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    (d / "nocol.csv").write_text("a,b\n1,2\n3,4\n")
    # 60 words over 80 rows: too many levels to one-hot encode, but not an ID (repeats)
    rows = "".join(f"{i},word{i % 60},{i % 2}\n" for i in range(80))
    (d / "text.csv").write_text("a,b,y\n" + rows)
    (d / "oneclass.csv").write_text("a,b,y\n" + "".join(f"{i},{2 * i},cat\n" for i in range(20)))
    (d / "norows.csv").write_text("a,b,y\n")
    (d / "twice.csv").write_text(
        "a,a,b,y\n" + "".join(f"{i},{i},{i % 3},{i % 2}\n" for i in range(40))
    )
    (d / "empty.csv").write_text("")
    (d / "binary.csv").write_bytes(bytes(range(256)) * 8)
    (d / "one.csv").write_text("a,y\n1,2.5\n")
    (d / "three.csv").write_text("a,y\n1,2.5\n2,3.5\n3,1.25\n")
    commas = "".join(f'{i},"{i},5"\n' for i in range(30)) + "30,unknown\n"
    (d / "commas.csv").write_text("a,y\n" + commas)
    (d / "afile").write_text("")
    (d / "notes.db").write_text("my notes, not a database\n")
    (d / "garbage" / "wine").mkdir(parents=True)
    (d / "garbage" / "wine" / "winequality-red.csv").write_bytes(b"\xa7\x00\xff" * 1000)
    return d


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input_is_one_clear_line_exit_2_and_writes_nothing(
    args, message, files, tmp_path, monkeypatch, capsys
):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LGT_CACHE_DIR", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    try:
        status = main([a.format(d=files) for a in args])
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    out, err = capsys.readouterr()
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert message in lines[0], lines[0]
    assert "Traceback" not in err and out == ""
    assert list(work.iterdir()) == []
    assert (files / "notes.db").read_text() == "my notes, not a database\n"  # left as it was
