"""What `launch` and `resume` tell a user: a header, `[k/N]` trial lines with the elapsed time, a
closing line with the best trial and the next command, what Ctrl-C left and how to continue
(in a real terminal, through tmux), and `nothing to do` on a finished study."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import yaml

from tests.conftest import REPO, cli_env, run_cli
from tests.sweeper_tests import fault_support

TRIAL_LINE = re.compile(r"^\[(\d+)/(\d+)\] \d+(?:s|m\d\ds|h\d\dm) trial (\d+) (COMPLETE|PRUNED)")


def test_launch_prints_a_header_numbered_trial_lines_and_a_closing_line(
    sqlite_url: str, tmp_path: Path
) -> None:
    study_file = fault_support.write_study(tmp_path / "toy.yaml", n_trials=3, delay=0.0)
    result = run_cli("launch", str(study_file), "--storage", sqlite_url, "--workers", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"study toy in {sqlite_url}: 2 workers (cpu), target 3 trials, 0 finished"
    numbered = [TRIAL_LINE.match(line) for line in lines[1:-1]]
    assert all(numbered), lines
    assert [(m.group(1), m.group(2)) for m in numbered] == [("1", "3"), ("2", "3"), ("3", "3")]
    closing = re.fullmatch(
        r"done: 3/3 finished \(3 COMPLETE, 0 PRUNED, 0 FAIL\) in \d+s; "
        r"best trial (\d) val_mse=\S+; next: sweeper report --study toy --storage (\S+)",
        lines[-1],
    )
    assert closing, lines[-1]
    assert closing.group(2) == sqlite_url
    best = run_cli("best", "--study", "toy", "--storage", sqlite_url, "--json")
    assert yaml.safe_load(best.stdout)["number"] == int(closing.group(1))


def test_resume_of_a_finished_study_says_nothing_to_do_then_adds_trials(
    sqlite_url: str, tmp_path: Path
) -> None:
    study_file = fault_support.write_study(tmp_path / "toy.yaml", n_trials=2, delay=0.0)
    assert run_cli("launch", str(study_file), "--storage", sqlite_url).returncode == 0

    started = time.monotonic()
    idle = run_cli("resume", "--study", "toy", "--storage", sqlite_url)
    assert idle.returncode == 0, idle.stderr
    assert idle.stdout.splitlines() == [
        "nothing to do: 2/2 finished; to run more: "
        f"sweeper resume --study toy --storage {sqlite_url} --add-trials N"
    ]
    assert time.monotonic() - started < 10  # no worker was started

    more = run_cli("resume", "--study", "toy", "--storage", sqlite_url, "--add-trials", "1")
    assert more.returncode == 0, more.stderr
    lines = more.stdout.splitlines()
    assert lines[0] == "target: 2 -> 3 trials"
    assert lines[1].endswith("1 worker (cpu), target 3 trials, 2 finished")
    assert TRIAL_LINE.match(lines[2]) and lines[2].startswith("[3/3] ")  # old trials not re-printed
    assert lines[-1].startswith("done: 3/3 finished")

    target = run_cli("resume", "--study", "toy", "--storage", sqlite_url, "--n-trials", "4")
    assert target.returncode == 0, target.stderr
    assert target.stdout.splitlines()[0] == "target: 3 -> 4 trials"
    assert fault_support.assert_study_intact(sqlite_url, 4)

    both = run_cli(
        "resume", "--study", "toy", "--storage", sqlite_url, "--n-trials", "5", "--add-trials", "1"
    )
    assert both.returncode == 2
    assert both.stderr.strip() == (
        "error: resume: use --n-trials N (a new target) or --add-trials N, not both"
    )


def test_a_health_pruned_trial_shows_its_rule_and_epoch_never_its_stand_in_value(
    sqlite_url: str, tmp_path: Path
) -> None:
    study_file = tmp_path / "sick.yaml"
    study_file.write_text(
        yaml.safe_dump(
            {
                "study": "sick",
                "objective": "tests.sweeper_tests.user_objectives:nan_loss_when_lr_is_high",
                "direction": "minimize",
                "metric": "loss",
                "n_trials": 2,
                "sampler": {"name": "random", "seed": 0},
                "pruner": {"name": "none"},
                "space": {"lr": {"type": "float", "low": 0.001, "high": 0.01}},
                "enqueue": [{"lr": 0.09}],
            }
        )
    )
    result = run_cli("launch", str(study_file), "--storage", sqlite_url)
    assert result.returncode == 0, result.stderr
    pruned = [line for line in result.stdout.splitlines() if " trial 0 " in line]
    assert pruned == [pruned[0]] and re.fullmatch(
        r"\[1/2\] \d+s trial 0 PRUNED \(nonfinite at epoch 2\) lr=0\.09", pruned[0]
    ), pruned
    assert "loss=" not in pruned[0]


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], check=True, capture_output=True, text=True, timeout=30
    ).stdout


def test_ctrl_c_in_a_terminal_says_how_many_finished_and_how_to_continue(
    sqlite_url: str, tmp_path: Path
) -> None:
    study_file = fault_support.write_study(tmp_path / "toy.yaml", n_trials=6, epochs=20, delay=0.2)
    session = f"sweeper-test-{uuid.uuid4().hex[:8]}"
    done_marker = tmp_path / "exit-code"
    command = (
        f"cd {shlex.quote(str(REPO))} && env -u SWEEPER_STORAGE OMP_NUM_THREADS=1 "
        f"{shlex.quote(sys.executable)} -m sweeper launch {shlex.quote(str(study_file))} "
        f"--storage {shlex.quote(sqlite_url)} --workers 2; echo $? > {done_marker}"
    )
    _tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "50", "bash", "--norc")
    try:
        _tmux("send-keys", "-t", session, command, "Enter")
        fault_support.wait_until(
            lambda: "[1/6]" in _tmux("capture-pane", "-p", "-t", session), 180, "a trial line"
        )
        _tmux("send-keys", "-t", session, "C-c")
        fault_support.wait_until(done_marker.exists, 120, "the launcher to exit")
        time.sleep(0.2)
        screen = _tmux("capture-pane", "-p", "-J", "-t", session, "-S", "-100")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=30)
    assert done_marker.read_text().strip() == "130"
    stopped = [line.strip() for line in screen.splitlines() if line.startswith("stopped:")]
    assert len(stopped) == 1, screen
    match = re.fullmatch(
        rf"stopped: (\d)/6 finished; continue with sweeper resume --study toy --storage "
        rf"{re.escape(sqlite_url)}",
        stopped[0],
    )
    assert match, stopped[0]
    finished = sum(
        t.state.name in ("COMPLETE", "PRUNED") for t in fault_support.load_trials(sqlite_url)
    )
    assert int(match.group(1)) == finished
    assert "Traceback" not in screen


def test_launch_on_a_finished_study_answers_without_loading_optuna_torch_or_a_worker(
    sqlite_url: str, tmp_path: Path
) -> None:
    study_file = fault_support.write_study(tmp_path / "toy.yaml", n_trials=1, delay=0.0)
    assert run_cli("launch", str(study_file), "--storage", sqlite_url).returncode == 0

    env = cli_env(PYTHONPROFILEIMPORTTIME="1")  # `python -X importtime`: every module loaded
    again = run_cli("launch", str(study_file), "--storage", sqlite_url, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        "nothing to do: 1/1 finished; to run more: "
        f"sweeper resume --study toy --storage {sqlite_url} --add-trials N"
    ]
    imported = {line.rsplit("|", 1)[-1].strip() for line in again.stderr.splitlines()}
    for heavy in ("optuna", "torch", "alembic", "sweeper.workers.launcher"):
        assert heavy not in imported, f"{heavy} was imported"
