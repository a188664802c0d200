"""The sessionkit command, run as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sessionkit.cli import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sessionkit", *args], capture_output=True, text=True, timeout=60
    )


def test_backends_lists_the_core_stores() -> None:
    result = run("backends")
    assert result.returncode == 0
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "sessionkit" in lines["memory"]
    assert "sessionkit" in lines["file"]


@pytest.mark.parametrize("url", ["memory://", "file://{tmp}/sessions"])
def test_check_succeeds_on_the_core_stores(url: str, tmp_path: Path) -> None:
    result = run("check", url.format(tmp=tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ")
    assert " ms)" in result.stdout


def test_check_of_a_relative_file_url(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sessionkit", "check", "file://./sk-sessions"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sk-sessions").is_dir()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "nosuchscheme://x"], "no sessionkit backend is installed for 'nosuchscheme'"),
        (["check", "not a url"], "not a store URL"),
        (["check", "memory://?max_entrie=3"], "did you mean 'max_entries'?"),
        (["purge", "file://"], "names no directory"),
    ],
)
def test_misconfiguration_is_one_line_and_exit_1(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_arguments_give_usage_not_a_traceback() -> None:
    result = run("check")
    assert result.returncode == 2
    assert result.stderr.startswith("usage:")
    assert "Traceback" not in result.stderr


def test_password_is_masked_in_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "nosuchscheme://user:hunter2@host/0"]) == 1
    assert "hunter2" not in capsys.readouterr().err


def test_purge_reports_what_it_removed(tmp_path: Path) -> None:
    from sessionkit.ids import new_session_id
    from sessionkit.stores.file import FileStore

    clock = [1000.0]
    store = FileStore(tmp_path, clock=lambda: clock[0])
    for _ in range(3):
        store.set(new_session_id(), b"x", 10)
    store.set(new_session_id(), b"y", 10_000_000_000)
    clock[0] += 60  # the three short-lived sessions are now expired (by the real clock too)
    result = run("purge", f"file://{tmp_path}")
    assert result.returncode == 0, result.stderr
    assert "removed 3 expired session(s)" in result.stdout


def test_purge_of_a_self_expiring_store_says_so() -> None:
    result = run("purge", "memory://")
    assert result.returncode == 0
    assert "expires sessions by itself" in result.stdout


def test_init_creates_the_file_store_directory(tmp_path: Path) -> None:
    result = run("init", f"file://{tmp_path}/new/dir")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new" / "dir").is_dir()
