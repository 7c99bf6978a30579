"""`sweeper dashboard` and what workers add for it: health artifacts, trial notes, the study figure,
and no "database is locked" while the dashboard reads a live SQLite study."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from sweeper.artifact_location import artifact_dir
from sweeper.config import parse_config
from sweeper.dashboard.annotations import FIGURE_ID
from sweeper.dashboard.artifacts import upload_trial_health
from sweeper.dashboard.server import is_loopback, public_host_warning
from sweeper.studies import create_or_continue
from sweeper.workers.stopping import StopSignals
from sweeper.workers.trial_runner import TrialRunner
from tests.conftest import run_cli, start_cli
from tests.sweeper_tests.browse_study import (  # noqa: F401 - browse_study is a fixture
    BrowseStudy,
    browse_study,
    free_port,
    start_dashboard,
    stop,
)

PARAM_IMPORTANCES = "/api/studies/1/param_importances"


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


def _meta(trial: optuna.trial.FrozenTrial) -> list[dict[str, str]]:
    return [json.loads(v) for k, v in trial.system_attrs.items() if k.startswith("artifacts:")]


@pytest.fixture(scope="module")
def dashboard(browse_study: BrowseStudy) -> Iterator[str]:  # noqa: F811
    """`sweeper dashboard` on the shared study, for the module: its base URL."""
    process, base = start_dashboard(browse_study.url, cwd=browse_study.directory)
    yield base
    stop(process)


def test_every_trial_uploads_its_health_curves_and_table(browse_study: BrowseStudy) -> None:  # noqa: F811
    study = browse_study.load()
    for trial in study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED)):
        names = sorted(meta["filename"] for meta in _meta(trial))
        assert names == [f"trial-{trial.number}-health.csv", f"trial-{trial.number}-health.svg"]
        for meta in _meta(trial):
            stored = browse_study.artifacts / meta["artifact_id"]
            assert stored.is_file()
            if meta["filename"].endswith(".csv"):
                header = stored.read_text().splitlines()[0].split(",")
                assert header[0] == "epoch" and "grad_norm" in header
                epochs = len(stored.read_text().splitlines()) - 1
                assert epochs == max(trial.intermediate_values)
            else:
                assert stored.read_text().startswith("<svg")


def test_dashboard_notes_say_why_each_trial_was_pruned_and_show_its_curves(
    browse_study: BrowseStudy,  # noqa: F811
    dashboard: str,
) -> None:
    from optuna_dashboard._note import get_note_from_system_attrs

    study = browse_study.load()
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    assert any(t.user_attrs["prune_reason"].startswith("grad_explosion") for t in pruned)
    system_attrs = study._storage.get_study_system_attrs(study._study_id)
    assert any(key.startswith(f"dashboard:plot_data:{FIGURE_ID}:") for key in system_attrs)
    for trial in pruned:
        note = get_note_from_system_attrs(system_attrs, trial._trial_id)["body"]
        rule = trial.user_attrs["prune_reason"].split(":")[0]
        assert note.startswith(f"**Pruned by {rule}**: `")
        assert f"![trial {trial.number} health](/artifacts/" in note


def test_dashboard_serves_studies_and_health_artifacts_on_loopback(
    browse_study: BrowseStudy,  # noqa: F811
    dashboard: str,
) -> None:
    base = dashboard
    status, _, body = _get(f"{base}/api/studies")
    assert status == 200
    assert [s["study_name"] for s in json.loads(body)["study_summaries"]] == ["explode"]
    study = browse_study.load()
    trial = study.get_trials(states=(TrialState.PRUNED,))[0]
    svg = next(m for m in _meta(trial) if m["filename"].endswith(".svg"))
    url = f"{base}/artifacts/{study._study_id}/{trial._trial_id}/{svg['artifact_id']}"
    status, content_type, body = _get(url)
    assert status == 200 and content_type.startswith("image/svg+xml")
    assert b"grad_norm" in body


def test_dashboard_prints_where_it_listens_and_where_artifacts_are(
    browse_study: BrowseStudy,  # noqa: F811
) -> None:
    process, base = start_dashboard(browse_study.url, cwd=browse_study.directory)
    out, err = stop(process)
    assert out.startswith(f"optuna-dashboard on {base}/dashboard/ (storage {browse_study.url}, ")
    assert f"artifacts {browse_study.artifacts}); Ctrl-C stops it" in out
    assert err == ""


def test_binding_beyond_loopback_prints_a_warning(browse_study: BrowseStudy) -> None:  # noqa: F811
    process = start_cli(
        "dashboard", "--storage", browse_study.url, "--host", "0.0.0.0", "--port",
        str(free_port()), cwd=browse_study.directory,
    )  # fmt: skip
    try:
        first = process.stderr.readline() if process.stderr else ""
    finally:
        stop(process)
    assert first.startswith("warning: --host 0.0.0.0 is not a loopback address: anyone who")


def test_loopback_addresses_are_recognised() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.4", "::", "example.org"))
    assert public_host_warning("127.0.0.1") is None


def test_dashboard_on_a_missing_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = run_cli("dashboard", "--storage", f"sqlite:///{tmp_path / 'none.db'}", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"error: storage: no database file at {tmp_path / 'none.db'}\n"


def test_dashboard_on_a_busy_port_is_one_line_and_exit_2(
    browse_study: BrowseStudy,  # noqa: F811
    dashboard: str,
) -> None:
    port = dashboard.rsplit(":", 1)[1]
    done = run_cli(
        "dashboard", "--storage", browse_study.url, "--port", port, cwd=browse_study.directory
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: --port {port}: cannot listen on 127.0.0.1: ")
    assert done.stderr.count("\n") == 1


def test_artifact_directory_defaults_next_to_sqlite_or_per_user_for_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert artifact_dir(f"sqlite:///{tmp_path}/s.db") == tmp_path / "artifacts"
    assert artifact_dir(f"sqlite:///{tmp_path}/s.db", "/data/art") == Path("/data/art")
    shared = tmp_path / "data" / "gnn-sweeper" / "artifacts" / "db-5432-sweeps"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert artifact_dir("postgresql://me:secret@db/sweeps") == shared


def test_a_failed_artifact_upload_leaves_the_trial_complete(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the artifact directory should be")
    config = parse_config(
        {
            "study": "upload-fails",
            "objective": "toy_regression",
            "direction": "minimize",
            "metric": "val_mse",
            "n_trials": 1,
            "params": {"epochs": 3},
            "artifacts": str(blocker / "artifacts"),
        }
    )
    from objectives.toy_regression import objective

    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 's.db'}")
    study = create_or_continue(storage, config)
    runner = TrialRunner(
        config,
        objective,
        device="cpu",
        torch_device="cpu",
        stop=StopSignals(),
        upload_health=upload_trial_health,
    )
    with caplog.at_level("WARNING", logger="sweeper.artifacts"):
        study.optimize(runner, n_trials=1)
    trial = study.trials[0]
    assert trial.state == TrialState.COMPLETE
    assert "health_series" in trial.user_attrs
    assert "trial 0: health artifacts not uploaded (SweeperError: artifacts: cannot create" in (
        caplog.text
    )


def test_workers_never_fail_with_database_locked_while_the_dashboard_polls(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    (tmp_path / "live.yaml").write_text(
        "study: live\nobjective: toy_regression\ndirection: minimize\nmetric: val_mse\n"
        "n_trials: 6\nsampler: {name: random, seed: 0}\npruner: {name: none}\n"
        "params: {epochs: 10, epoch_delay: 0.02}\n"
        "space:\n  lr: {type: float, low: 1.0e-3, high: 0.1, log: true}\n"
    )
    created = run_cli("create", str(tmp_path / "live.yaml"), "--storage", url, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    dashboard, base = start_dashboard(url, cwd=tmp_path)
    polls: list[int] = []
    done = threading.Event()

    def poll() -> None:  # what an open browser tab does, as fast as the dashboard answers
        while not done.is_set():
            for path in ("/api/studies", "/api/studies/1?after=0", PARAM_IMPORTANCES):
                try:
                    polls.append(_get(base + path)[0])
                except OSError:
                    polls.append(0)

    pollers = [threading.Thread(target=poll)]
    for thread in pollers:
        thread.start()
    try:
        launched = run_cli(
            "launch", str(tmp_path / "live.yaml"), "--storage", url, "--workers", "2",
            cwd=tmp_path, timeout=240,
        )  # fmt: skip
    finally:
        done.set()
        for thread in pollers:
            thread.join()
        _, dashboard_err = stop(dashboard)
    assert launched.returncode == 0, launched.stderr
    assert "locked" not in launched.stderr + launched.stdout + dashboard_err
    trials = optuna.load_study(study_name="live", storage=url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    assert not any("fail_reason" in t.user_attrs for t in trials)
    assert len(polls) > 20 and set(polls) == {200}
