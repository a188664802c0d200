"""The sessionkit command, run as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sessionkit import available_backends, register_backend, unregister_backend
from sessionkit.cli import DEMO_NEEDS, main
from sessionkit.stores.memory import MemoryStore
from sessionkit.testing import require_server


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


class FailingStore(MemoryStore):
    """A store whose writes fail with an error no one translated, naming its URL."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def add(self, sid: str, data: bytes, ttl: int) -> bool:
        raise RuntimeError(f"the server behind {self.url}\nsaid no to hunter%402\n(and hunter@2)")


@pytest.fixture
def failing_scheme() -> Iterator[str]:
    def factory(url: str, **options: Any) -> FailingStore:
        return FailingStore(url)

    register_backend("failing-test", factory)
    yield "failing-test"
    unregister_backend("failing-test")


def test_any_error_is_one_line_with_its_type_and_no_secret(
    failing_scheme: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", f"{failing_scheme}://u:hunter%402@h/0?auth_token=t0k"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "sessionkit check: RuntimeError: the server behind "
        f"{failing_scheme}://u:***@h/0?auth_token=*** said no to *** (and ***)\n"
    )


def test_traceback_shows_the_whole_traceback_without_the_secret(
    failing_scheme: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{failing_scheme}://u:hunter%402@h/0"
    for argv in (["--traceback", "check", url], ["check", "--traceback", url]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("Traceback (most recent call last):")
        assert "RuntimeError: the server behind" in err
        assert "hunter" not in err


def test_an_untranslated_redis_error_is_one_line() -> None:
    if "redis" not in available_backends():
        pytest.skip("sessionkit-redis is not installed")
    require_server("127.0.0.1", 6379, "Redis")
    result = run("check", "redis://127.0.0.1:6379/99")  # no database 99: a ResponseError today
    assert result.returncode == 1
    assert result.stderr.startswith("sessionkit check: ")
    assert "DB index is out of range" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_the_demo_without_its_dependencies_says_what_to_install() -> None:
    script = (
        "import sys; sys.modules['uvicorn'] = None; "  # makes `import uvicorn` fail
        "from sessionkit.cli import main; sys.exit(main(['demo', '--port', '1']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr == (
        "sessionkit demo: uvicorn is not installed: pip install 'sessionkit[demo]'\n"
    )


def test_the_core_command_does_not_import_the_demo() -> None:
    script = (
        "import sys; from sessionkit.cli import main; main(['backends']); "
        "print('sessionkit.demo' in sys.modules, 'starlette' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.splitlines()[-1] == "False False"


def test_demo_options_go_to_the_demo() -> None:
    for module in DEMO_NEEDS:
        pytest.importorskip(module)
    result = run("demo", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: sessionkit demo")
    assert "--workers" in result.stdout
    result = run("demo", "--port", "not-a-port")
    assert result.returncode == 2
    assert "argument --port: invalid int value" in result.stderr
    result = run("check", "memory://", "--port", "1")
    assert result.returncode == 2
    assert "unrecognized arguments: --port 1" in result.stderr


def test_purge_of_a_missing_directory_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist"
    result = run("purge", f"file://{missing}")
    assert not missing.exists()
    assert result.returncode == 1
    assert result.stderr.startswith("sessionkit purge: ConfigurationError: ")
    assert len(result.stderr.splitlines()) == 1


def test_check_of_a_missing_sql_table_is_a_sessionkit_error(tmp_path: Path) -> None:
    if "sqlite" not in available_backends():
        pytest.skip("sessionkit-sql is not installed")
    result = run("check", f"sqlite:///{tmp_path}/sessions.db?create_table=false")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    error_type = result.stderr.split(": ")[1]
    assert error_type in ("ConfigurationError", "StoreUnavailableError"), result.stderr


def test_purge_without_create_table_creates_no_database_file(tmp_path: Path) -> None:
    if "sqlite" not in available_backends():
        pytest.skip("sessionkit-sql is not installed")
    database = tmp_path / "new.db"
    result = run("purge", f"sqlite:///{database}?create_table=false")
    assert not database.exists()
    assert result.returncode == 1
