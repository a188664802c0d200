"""Removing expired sessions in the background of a running application, for the stores
that need it (file, SQL), so that no cron job is needed: one daemon thread per process,
started by the manager's first commit (after a server forks its workers), waking every
``interval`` seconds, never on a request's path."""

from __future__ import annotations

import logging
import random
import threading

from .errors import SessionKitError
from .store import SupportsPurge

log = logging.getLogger("sessionkit")


#: The most sessions one background run removes; the next run goes on where it stopped, so a
#: backlog (after a long pause, or a first start on a big table) never makes one long run.
RUN_LIMIT = 10_000


class Purger:
    """Calls ``store.purge_expired(limit=RUN_LIMIT)`` every ``interval`` seconds in a daemon
    thread.

    The first run comes after a random part of the interval, so that the workers of one
    server do not all purge at once. A failure is logged once, and once more when purging
    works again.
    """

    def __init__(self, store: SupportsPurge, interval: float, name: str) -> None:
        self.store = store
        self.interval = interval
        self.name = name
        self.runs = 0
        self.removed = 0
        self._stop = threading.Event()
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="sessionkit-purge", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        wait = random.uniform(0, self.interval)  # spreading the workers' runs, not secrecy
        while not self._stop.wait(wait):
            wait = self.interval
            self.purge_once()

    def purge_once(self) -> None:
        try:
            removed = self.store.purge_expired(limit=RUN_LIMIT)
        except (SessionKitError, OSError) as error:
            if not self._failing:
                log.warning("purging session store %s failed: %s", self.name, error)
            self._failing = True
            return
        if self._failing:
            log.warning("purging session store %s works again", self.name)
        self._failing = False
        self.runs += 1
        self.removed += removed
        log.debug("purged %d expired sessions from %s", removed, self.name)
