"""Small TCP tools for running servers in tests and load runs: stdlib only, no pytest.

- :func:`free_port`: a loopback port that nothing listens on right now, and that this process
  was not given lately.
- :func:`wait_for_port`: wait until a server accepts connections (or its process died).
- :class:`TCPRelay`: forwards a loopback port to a server and can make that server look dead
  (:meth:`~TCPRelay.cut`) or frozen (:meth:`~TCPRelay.hang`) on demand, then bring it back
  (:meth:`~TCPRelay.restore`), without touching the real server.
"""

from __future__ import annotations

import errno
import queue
import selectors
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

LOOPBACK = "127.0.0.1"
POLL_INTERVAL = 0.05  # seconds between two connection attempts of wait_for_port
CHUNK = 64 * 1024
BACKLOG = 1024  # connections the kernel completes while a hung relay accepts none
COMMAND_TIMEOUT = 10.0  # seconds a control call waits for the relay's thread


# Ports handed out lately: a caller often chooses several ports before binding any (two
# servers, a server and its cluster bus), and the kernel may offer a port again once the
# probing socket is closed; the second server would then find the first one listening there.
_handed_out: deque[int] = deque(maxlen=256)
_handed_out_lock = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, and none of the last 256
    this process was given."""
    with _handed_out_lock:
        while True:
            with socket.socket() as sock:
                sock.bind((LOOPBACK, 0))
                port: int = sock.getsockname()[1]
            if port not in _handed_out:
                _handed_out.append(port)
                return port


def wait_for_port(
    host: str,
    port: int,
    timeout: float = 30.0,
    *,
    process: subprocess.Popen[Any] | None = None,
) -> None:
    """Return once ``host:port`` accepts a TCP connection.

    :param timeout: seconds to keep trying; then :class:`TimeoutError`.
    :param process: the server's process, if this code started it: if it exits first,
        :class:`RuntimeError` is raised at once instead of waiting out the timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"the server process exited with status {process.returncode} "
                f"before {host}:{port} accepted connections"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(
                f"nothing accepted connections on {host}:{port} within {timeout:g} s"
            )
        try:
            with socket.create_connection((host, port), timeout=min(remaining, 1.0)):
                return
        except OSError:
            time.sleep(min(POLL_INTERVAL, max(deadline - time.monotonic(), 0)))


class _Pipe:
    """One direction of a relayed connection: bytes read from ``src`` wait here for ``dst``."""

    def __init__(self, src: socket.socket, dst: socket.socket) -> None:
        self.src, self.dst = src, dst
        self.pending = b""
        self.eof = False  # src has no more to send
        self.done = False  # ... and all it sent has reached dst, whose write side is shut

    @property
    def wants_read(self) -> bool:
        return not self.eof and not self.pending

    def read(self) -> None:
        try:
            data = self.src.recv(CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        if data:
            self.pending = data
        else:
            self.eof = True
            self._finish_if_drained()

    def write(self) -> None:
        try:
            sent = self.dst.send(self.pending)
        except (BlockingIOError, InterruptedError):
            return
        self.pending = self.pending[sent:]
        self._finish_if_drained()

    def _finish_if_drained(self) -> None:
        if self.eof and not self.pending and not self.done:
            self.done = True
            self.dst.shutdown(socket.SHUT_WR)


class _Link:
    """A client's connection to the relay and the relay's connection to the target."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client, self.upstream = client, upstream
        self.connecting = True  # the connection to the target is not established yet
        self.pipes = (_Pipe(client, upstream), _Pipe(upstream, client))

    @property
    def sockets(self) -> tuple[socket.socket, socket.socket]:
        return self.client, self.upstream

    @property
    def finished(self) -> bool:
        return all(pipe.done for pipe in self.pipes)

    def events_of(self, sock: socket.socket) -> int:
        """The selector events ``sock`` waits for now."""
        if self.connecting:
            return selectors.EVENT_WRITE if sock is self.upstream else 0
        events = 0
        for pipe in self.pipes:
            if pipe.src is sock and pipe.wants_read:
                events |= selectors.EVENT_READ
            if pipe.dst is sock and pipe.pending:
                events |= selectors.EVENT_WRITE
        return events

    def handle(self, sock: socket.socket, events: int) -> None:
        """Move bytes for a ready socket; OSError if either connection failed."""
        if self.connecting:
            error = self.upstream.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                raise OSError(error, "the relay's target refused the connection")
            self.connecting = False
            return
        for pipe in self.pipes:
            if events & selectors.EVENT_WRITE and pipe.dst is sock and pipe.pending:
                pipe.write()
            if events & selectors.EVENT_READ and pipe.src is sock and pipe.wants_read:
                pipe.read()

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


class TCPRelay:
    """Forwards connections from a free 127.0.0.1 port to ``target``, with faults on demand.

    Point a client at :attr:`address` instead of the server. Then:

    - :meth:`cut`: the server is dead. Every relayed connection is closed and the port stops
      listening, so new connections are refused.
    - :meth:`hang`: the server is frozen (as under SIGSTOP). Connections stay open and new
      ones are still established (the kernel's backlog completes them), but no byte is
      forwarded either way.
    - :meth:`restore`: back to forwarding; after a cut the relay listens on the same port again,
      after a hang the bytes held back flow on and waiting connections are served.

    One thread moves all bytes; the control methods are thread-safe and return once the
    change is in effect. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        found = socket.getaddrinfo(*target, type=socket.SOCK_STREAM)[0]
        self._family: socket.AddressFamily = found[0]
        self._target_address: tuple[Any, ...] = found[4]
        self._listener: socket.socket | None = self._listen(0)
        self._port: int = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._links: dict[socket.socket, _Link] = {}
        self._commands: queue.SimpleQueue[_Command] = queue.SimpleQueue()
        self._control = threading.Lock()  # one control call at a time
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._hung = False
        self._closed = False
        self._selector.register(self._wake_reader, selectors.EVENT_READ)
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._thread = threading.Thread(
            target=self._serve, name=f"TCPRelay-{self._port}", daemon=True
        )
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        """Where clients connect: ``("127.0.0.1", port)``."""
        return LOOPBACK, self._port

    @property
    def port(self) -> int:
        """The relay's port; it stays the same across cuts."""
        return self._port

    def cut(self) -> None:
        """Close every relayed connection and stop listening: the server looks dead."""
        self._call(self._do_cut)

    def hang(self) -> None:
        """Forward nothing, either way, until :meth:`restore`: the server looks frozen."""
        self._call(self._do_hang)

    def restore(self) -> None:
        """Forward again, listening on the same port again after a cut."""
        self._call(self._do_restore)

    def close(self) -> None:
        """Close every connection and the port, and stop the relay's thread. Idempotent."""
        with self._control:
            if self._thread.is_alive():
                self._send(self._do_close)
                self._thread.join(COMMAND_TIMEOUT)
            self._close_all()

    def __enter__(self) -> TCPRelay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- control: each action runs on the relay's thread, between two selector waits

    def _call(self, action: Callable[[], None]) -> None:
        with self._control:
            if self._closed or not self._thread.is_alive():
                raise RuntimeError("the relay is closed")
            self._send(action)

    def _send(self, action: Callable[[], None]) -> None:
        command = _Command(action)
        self._commands.put(command)
        self._wake_writer.send(b"\0")
        if not command.finished.wait(COMMAND_TIMEOUT):
            raise RuntimeError("the relay's thread did not answer")
        if command.error is not None:
            raise command.error

    def _do_cut(self) -> None:
        for link in set(self._links.values()):
            self._drop(link)
        if self._listener is not None:
            self._set_events(self._listener, 0)
            self._listener.close()
            self._listener = None

    def _do_hang(self) -> None:
        self._hung = True
        for sock in [*self._links, self._listener]:
            if sock is not None:
                self._set_events(sock, 0)

    def _do_restore(self) -> None:
        self._hung = False
        if self._listener is None:
            self._listener = self._listen(self._port)
        self._set_events(self._listener, selectors.EVENT_READ)
        for link in set(self._links.values()):
            self._update(link)

    def _do_close(self) -> None:
        self._do_cut()
        self._closed = True

    # -- the relay's thread

    def _serve(self) -> None:
        try:
            while not self._closed:
                for key, events in self._selector.select():
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self._wake_reader:
                        self._run_commands()
                    elif self._hung:
                        continue  # hung by a command handled earlier in this round
                    elif sock is self._listener:
                        self._accept()
                    elif sock in self._links:  # not dropped by an earlier event of this round
                        self._move(self._links[sock], sock, events)
        finally:
            self._close_all()

    def _run_commands(self) -> None:
        self._wake_reader.recv(CHUNK)
        while not self._commands.empty():
            command = self._commands.get()
            try:
                command.action()
            except Exception as exc:  # noqa: BLE001 - handed back to the caller
                command.error = exc
            command.finished.set()

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except OSError:
            return  # the client gave up before it was accepted
        upstream = socket.socket(self._family, socket.SOCK_STREAM)
        for sock in (client, upstream):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link(client, upstream)
        self._links[client] = self._links[upstream] = link
        code = upstream.connect_ex(self._target_address)
        if code not in (0, errno.EINPROGRESS):
            self._drop(link)
            return
        self._update(link)

    def _move(self, link: _Link, sock: socket.socket, events: int) -> None:
        try:
            link.handle(sock, events)
        except OSError:
            self._drop(link)
            return
        if link.finished:
            self._drop(link)
        else:
            self._update(link)

    def _update(self, link: _Link) -> None:
        for sock in link.sockets:
            self._set_events(sock, 0 if self._hung else link.events_of(sock))

    def _set_events(self, sock: socket.socket, events: int) -> None:
        try:
            registered = self._selector.get_key(sock).events
        except KeyError:
            registered = 0
        if events == registered:
            return
        if not events:
            self._selector.unregister(sock)
        elif not registered:
            self._selector.register(sock, events)
        else:
            self._selector.modify(sock, events)

    def _drop(self, link: _Link) -> None:
        for sock in link.sockets:
            self._set_events(sock, 0)
            self._links.pop(sock, None)
        link.close()

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            # SO_REUSEADDR: the port is bound again after a cut, while old connections linger
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((LOOPBACK, port))
            listener.listen(BACKLOG)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        return listener

    def _close_all(self) -> None:
        """Release every socket; safe to call again, and from any thread once the loop ended."""
        self._closed = True
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            return  # the relay's thread releases them itself as it leaves
        for link in set(self._links.values()):
            link.close()
        self._links.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._selector.close()
        self._wake_reader.close()
        self._wake_writer.close()


class _Command:
    """A control action for the relay's thread, and its outcome."""

    def __init__(self, action: Callable[[], None]) -> None:
        self.action = action
        self.finished = threading.Event()
        self.error: Exception | None = None
