"""Four processes writing and reading one SQLite file at once: their own sessions and a shared
one. No process may see an error ("database is locked") or a partially written session."""

from __future__ import annotations

import multiprocessing
import traceback
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from pathlib import Path

from sessionkit_sql import SQLStore

from sessionkit.ids import new_session_id

PROCESSES = 4
ROUNDS = 40
SIZE = 32 * 1024


def payload(writer: int, round_: int) -> bytes:
    """A payload that names its writer and round, so a torn or mixed one is recognisable."""
    head = f"{writer}:{round_}:".encode()
    return head + bytes([writer * 50 + round_ % 50]) * (SIZE - len(head))


def is_whole(data: bytes | None) -> bool:
    if data is None:
        return False
    writer, round_, _ = data.split(b":", 2)
    return data == payload(int(writer), int(round_))


def work(url: str, index: int, shared: str, barrier: Barrier, report: Connection) -> None:
    problems: list[str] = []
    try:
        store = SQLStore(url)
        own = [new_session_id() for _ in range(3)]
        barrier.wait()
        for round_ in range(ROUNDS):
            mine = payload(index, round_)
            sid = own[round_ % len(own)]
            if not store.add(sid, mine, 60) and not store.replace(sid, mine, 60):
                problems.append(f"could neither add nor replace own session {round_}")
            if store.get(sid) != mine:
                problems.append(f"own session read back wrong in round {round_}")
            store.set(shared, mine, 60)
            if not is_whole(store.get(shared)):
                problems.append(f"shared session torn in round {round_}")
            store.touch(shared, 60)
            if round_ % 10 == 9:
                store.delete(own[0])
        store.close()
    except BaseException:
        problems.append(traceback.format_exc())
    report.send(problems)
    report.close()


def test_four_processes_share_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    setup = SQLStore(url)
    setup.initialize()
    shared = new_session_id()
    setup.set(shared, payload(0, 0), 60)
    setup.close()

    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES)
    pipes = [context.Pipe(duplex=False) for _ in range(PROCESSES)]
    workers = [
        context.Process(target=work, args=(url, index, shared, barrier, sender))
        for index, (_, sender) in enumerate(pipes)
    ]
    for worker in workers:
        worker.start()
    reports = [receiver.recv() for receiver, _ in pipes]
    for worker in workers:
        worker.join(timeout=60)

    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    assert reports == [[]] * PROCESSES
    check = SQLStore(url)
    try:
        assert is_whole(check.get(shared))
        assert check.count() == 1 + PROCESSES * 2  # shared, and two own sessions each
    finally:
        check.close()
