"""Bad input of any kind: one line on stderr naming the problem, exit code 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli

GOOD = {
    "study": "toy",
    "objective": "toy_regression",
    "direction": "minimize",
    "metric": "val_mse",
    "n_trials": 2,
    "params": {"epochs": 2},
    "space": {"lr": {"type": "float", "low": 1e-3, "high": 0.1, "log": True}},
}


def _with(**changes: object) -> dict:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    for dotted, value in changes.items():
        node = data
        *parents, leaf = dotted.split("__")
        for key in parents:
            node = node[key]
        if value is _DELETE:
            del node[leaf]
        else:
            node[leaf] = value
    return data


_DELETE = object()

BAD_FILES = [
    ("unknown objective", _with(objective="nope"), "error: objective: unknown objective 'nope'"),
    (
        "module:function that does not exist",
        _with(objective="objectives.toy_regression:missing"),
        "error: objective: module 'objectives.toy_regression' has no function 'missing'",
    ),
    (
        "module that does not exist",
        _with(objective="no_such_pkg.mod:fn"),
        "error: objective: cannot import module 'no_such_pkg.mod'",
    ),
    (
        "low above high",
        _with(space__lr__low=0.5),
        "error: space -> lr: low must be <= high (got low=0.5, high=0.1)",
    ),
    (
        "log scale from zero",
        _with(space__lr__low=0.0),
        "error: space -> lr: low must be > 0 for a log scale (got 0.0)",
    ),
    ("unknown field", _with(learning_rate=0.1), "error: learning_rate: unknown field"),
    ("missing field", _with(direction=_DELETE), "error: direction: required field is missing"),
    (
        "wrong direction",
        _with(direction="up"),
        "error: direction: Input should be 'maximize' or 'minimize'",
    ),
    (
        "negative trials",
        _with(n_trials=-3),
        "error: n_trials: Input should be greater than or equal to 1",
    ),
    (
        "huge trials",
        _with(n_trials=10**12),
        "error: n_trials: Input should be less than or equal to 1000000",
    ),
    ("string trials", _with(n_trials="many"), "error: n_trials: Input should be a valid integer"),
    (
        "nan bound",
        _with(space__lr__high=float("nan")),
        "error: space -> lr -> high: Input should be a finite number",
    ),
    (
        "inf bound",
        _with(space__lr__high=float("inf")),
        "error: space -> lr -> high: Input should be a finite number",
    ),
    (
        "unknown param type",
        _with(space__lr__type="complex"),
        "error: space -> lr: Input tag 'complex'",
    ),
    ("unknown sampler", _with(sampler="annealing"), "error: sampler -> name: Input should be"),
    ("unknown pruner", _with(pruner="guess"), "error: pruner -> name: Input should be"),
    (
        "sql in study name",
        _with(study="x'; DROP TABLE studies; --"),
        "error: study: Value error, must be 1-128 letters"
        if False
        else "error: study: must be 1-128 letters",
    ),
    (
        "misspelled objective parameter",
        _with(params={"epochz": 2}),
        "error: params -> epochz: unknown parameter for objective 'toy_regression'",
    ),
    (
        "param both fixed and searched",
        _with(params={"lr": 0.1}),
        "error: study file: 'lr' is both a fixed param and in space; keep one",
    ),
    ("not a mapping", ["a", "list"], "error: study file: must be a mapping of fields"),
]


@pytest.mark.parametrize(("case", "data", "expected"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_study_file_gives_one_line_and_exit_2_and_writes_nothing(
    case: str, data: object, expected: str, tmp_path: Path
) -> None:
    study_file = tmp_path / "study.yaml"
    study_file.write_text(yaml.safe_dump(data))
    db = tmp_path / "sweeps.db"
    result = run_cli("launch", str(study_file), "--storage", f"sqlite:///{db}")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(expected), lines[0]
    assert not db.exists(), "nothing may be written on bad input"


RAW_FILES = [
    (
        "yaml alias bomb",
        "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n",
        "error: study file: YAML aliases",
    ),
    ("not utf-8", b"study: \xff\xfe\n", "is not UTF-8 text"),
    ("broken yaml", "study: [unclosed\n", "error: study file:"),
    (
        "a key written twice",
        "study: s\nobjective: toy_regression\npruner:\n  health: {no_progress: false}\n"
        "  health: {}\n",
        "duplicate key 'health' at line 5",
    ),
    (
        "python object tag",
        "study: !!python/object/apply:os.system ['echo hi']\n",
        "error: study file:",
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), RAW_FILES, ids=[c[0] for c in RAW_FILES])
def test_hostile_yaml_is_refused_with_one_line(
    case: str, text: str | bytes, expected: str, tmp_path: Path
) -> None:
    study_file = tmp_path / "study.yaml"
    if isinstance(text, bytes):
        study_file.write_bytes(text)
    else:
        study_file.write_text(text)
    db = tmp_path / "sweeps.db"
    result = run_cli("launch", str(study_file), "--storage", f"sqlite:///{db}")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not db.exists()


def _good_file(tmp_path: Path) -> Path:
    study_file = tmp_path / "study.yaml"
    study_file.write_text(yaml.safe_dump(GOOD))
    return study_file


FLAG_CASES = [
    ("missing file", ["launch", "{missing}"], "does not exist"),
    (
        "malformed url",
        ["launch", "{file}", "--storage", "not a url"],
        "error: storage: malformed URL",
    ),
    (
        "unsupported database",
        ["launch", "{file}", "--storage", "mongodb://h/db"],
        "unsupported database 'mongodb'",
    ),
    (
        "bad enqueue json",
        ["launch", "{file}", "--enqueue", "{lr: 1"],
        "error: --enqueue: not a JSON object",
    ),
    (
        "enqueue unknown key",
        ["launch", "{file}", "--enqueue", '{"momentum": 1}'],
        "'momentum' is neither",
    ),
    (
        "enqueue NaN",
        ["launch", "{file}", "--enqueue", '{"lr": NaN}'],
        "error: --enqueue: not a JSON object",
    ),
    (
        "zero workers",
        ["launch", "{file}", "--workers", "0"],
        "error: sweeper launch: Invalid value for '--workers'",
    ),
    (
        "zero threads",
        ["launch", "{file}", "--threads", "0"],
        "error: sweeper launch: Invalid value for '--threads'",
    ),
    (
        "unknown device",
        ["launch", "{file}", "--devices", "tpu"],
        "error: --devices: unknown device 'tpu'",
    ),
    ("cuda without a gpu", ["launch", "{file}", "--devices", "cuda"], "has no GPU"),
    (
        "unknown flag",
        ["launch", "{file}", "--colour"],
        "error: sweeper launch: No such option: --colour",
    ),
    ("unknown command", ["lunch"], "error: sweeper: No such command 'lunch'"),
    (
        "status of a missing database",
        ["status", "--study", "x", "--storage", "sqlite:///{tmp}/none.db"],
        "no database file",
    ),
    ("delete without --yes", ["delete", "--study", "toy"], "pass --yes"),
]


@pytest.mark.parametrize(("case", "args", "expected"), FLAG_CASES, ids=[c[0] for c in FLAG_CASES])
def test_bad_flags_and_urls_give_one_line_and_exit_2(
    case: str, args: list[str], expected: str, tmp_path: Path
) -> None:
    study_file = _good_file(tmp_path)
    db = tmp_path / "sweeps.db"
    filled = [
        a.replace("{file}", str(study_file))
        .replace("{missing}", str(tmp_path / "missing.yaml"))
        .replace("{tmp}", str(tmp_path))
        for a in args
    ]
    if "--storage" not in filled and filled[0] in ("launch", "delete"):
        filled += ["--storage", f"sqlite:///{db}"]
    result = run_cli(*filled)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    if filled[0] == "launch":
        assert not db.exists()


def test_a_password_in_the_url_appears_in_no_output_log_or_stored_attribute(
    postgres_url: str, tmp_path: Path
) -> None:
    import optuna

    from storage.engine import open_storage

    password = "Pw-7f3c9e1b"
    with_password = postgres_url.replace("://root@", f"://root:{password}@")
    assert with_password != postgres_url  # PostgreSQL here trusts root, so any password connects
    study_file = _good_file(tmp_path)
    launched = run_cli("launch", str(study_file), "--storage", with_password, "--workers", "2")
    assert launched.returncode == 0, launched.stderr
    outputs = [launched.stdout, launched.stderr]
    for args in (["status", "--study", "toy", "--json"], ["list"], ["best", "--study", "toy"]):
        shown = run_cli(*args, "--storage", with_password)
        outputs += [shown.stdout, shown.stderr]
    created = run_cli("create", str(study_file), "--storage", with_password, "--study", "again")
    outputs += [created.stdout, created.stderr]
    assert "***" in created.stdout  # the URL is shown, redacted

    storage = open_storage(postgres_url)
    study = optuna.load_study(study_name="toy", storage=storage)
    stored = [study.user_attrs, storage.get_study_system_attrs(study._study_id)]
    for trial in study.get_trials():
        stored += [trial.user_attrs, trial.system_attrs, trial.params]
    logs = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    logs += [p.read_text(errors="replace") for p in (Path.cwd()).glob("*.log")]
    for text in outputs + logs + [repr(item) for item in stored]:
        assert password not in text
