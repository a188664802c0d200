"""sessionkit.netutil: free ports, waiting for a server, and the fault-injecting TCP relay.

The relay's target here is a listening socket that each test drives by hand (accept, send,
receive), so a test sees exactly which bytes crossed the relay in each direction.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from sessionkit.netutil import TCPRelay, free_port, wait_for_port

STALL = 0.3  # seconds a client waits to see that nothing arrives
PATIENCE = 10.0  # seconds a client waits for bytes that must arrive


@pytest.fixture
def server() -> Iterator[socket.socket]:
    """A listening socket standing for the relay's target."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.settimeout(PATIENCE)
        yield sock


@pytest.fixture
def relay(server: socket.socket) -> Iterator[TCPRelay]:
    with TCPRelay(server.getsockname()) as relay:
        yield relay


def connect(relay: TCPRelay, server: socket.socket) -> tuple[socket.socket, socket.socket]:
    """A client connected through the relay, and the server's end of it."""
    client = socket.create_connection(relay.address, timeout=PATIENCE)
    accepted, _ = server.accept()
    accepted.settimeout(PATIENCE)
    return client, accepted


def receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def assert_stalled(sock: socket.socket) -> None:
    sock.settimeout(STALL)
    with pytest.raises(TimeoutError):
        sock.recv(1)
    sock.settimeout(PATIENCE)


def assert_dropped(sock: socket.socket) -> None:
    """The connection was closed under the client: end of stream or a reset."""
    with contextlib.suppress(ConnectionResetError):
        assert sock.recv(1) == b""


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


# -- free_port and wait_for_port


def test_ports_chosen_before_any_is_bound_all_differ() -> None:
    """The kernel may offer a port again once the probing socket is closed; two servers
    given their ports before either started must not share one."""
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)


def test_a_free_port_can_be_bound() -> None:
    with socket.create_server(("127.0.0.1", free_port())) as sock:
        assert sock.getsockname()[0] == "127.0.0.1"


def test_wait_for_port_returns_once_something_listens(server: socket.socket) -> None:
    host, port = server.getsockname()
    wait_for_port(host, port, timeout=PATIENCE)


def test_wait_for_port_gives_up_after_its_timeout() -> None:
    port = free_port()
    with pytest.raises(TimeoutError, match=f"127.0.0.1:{port} within 0.2 s"):
        wait_for_port("127.0.0.1", port, timeout=0.2)


def test_wait_for_port_stops_at_once_when_the_server_process_exits() -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait()
    # a TimeoutError would mean it waited out the (long) timeout instead
    with pytest.raises(RuntimeError, match="exited with status 3"):
        wait_for_port("127.0.0.1", free_port(), timeout=300, process=process)


# -- forwarding


def test_bytes_flow_both_ways(relay: TCPRelay, server: socket.socket) -> None:
    assert relay.address == ("127.0.0.1", relay.port)
    client, accepted = connect(relay, server)
    with client, accepted:
        client.sendall(b"ping")
        assert receive(accepted, 4) == b"ping"
        accepted.sendall(b"pong")
        assert receive(client, 4) == b"pong"


def test_large_transfers_arrive_whole_and_in_order(relay: TCPRelay, server: socket.socket) -> None:
    payload = os.urandom(4 * 1024 * 1024)
    client, accepted = connect(relay, server)
    with client, accepted:
        sender = threading.Thread(target=client.sendall, args=(payload,))
        sender.start()
        assert receive(accepted, len(payload)) == payload
        sender.join()
        sender = threading.Thread(target=accepted.sendall, args=(payload[::-1],))
        sender.start()
        assert receive(client, len(payload)) == payload[::-1]
        sender.join()


def test_a_half_close_is_passed_on(relay: TCPRelay, server: socket.socket) -> None:
    client, accepted = connect(relay, server)
    with client, accepted:
        client.sendall(b"last words")
        client.shutdown(socket.SHUT_WR)
        assert receive(accepted, 100) == b"last words"  # then end of stream
        accepted.sendall(b"reply after the client's end")
        accepted.close()
        assert receive(client, 100) == b"reply after the client's end"


def test_connections_are_independent(relay: TCPRelay, server: socket.socket) -> None:
    pairs = [connect(relay, server) for _ in range(5)]
    for number, (client, _) in enumerate(pairs):
        client.sendall(b"%d" % number)
    for number, (_, accepted) in enumerate(pairs):
        assert receive(accepted, 1) == b"%d" % number
    for client, accepted in pairs:
        client.close()
        accepted.close()


def test_a_dead_target_closes_the_clients_connection() -> None:
    with TCPRelay(("127.0.0.1", free_port())) as relay:
        client = socket.create_connection(relay.address, timeout=PATIENCE)
        with client:
            assert_dropped(client)


# -- cut


def test_cut_drops_connections_and_refuses_new_ones(relay: TCPRelay, server: socket.socket) -> None:
    client, accepted = connect(relay, server)
    with client, accepted:
        relay.cut()
        assert_dropped(client)
        assert receive(accepted, 1) == b""  # the server's side is closed too
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(relay.address, timeout=PATIENCE)


def test_restore_after_a_cut_listens_on_the_same_port(
    relay: TCPRelay, server: socket.socket
) -> None:
    port = relay.port
    relay.cut()
    relay.restore()
    assert relay.port == port
    client, accepted = connect(relay, server)
    with client, accepted:
        client.sendall(b"back")
        assert receive(accepted, 4) == b"back"


# -- hang


def test_hang_stalls_both_ways_and_still_completes_connects(
    relay: TCPRelay, server: socket.socket
) -> None:
    client, accepted = connect(relay, server)
    with client, accepted:
        relay.hang()
        client.sendall(b"request")
        accepted.sendall(b"answer")
        assert_stalled(client)
        assert_stalled(accepted)
        late = socket.create_connection(relay.address, timeout=PATIENCE)  # the backlog takes it
        with late:
            late.sendall(b"late")
            assert_stalled(late)
            server.settimeout(STALL)
            with pytest.raises(TimeoutError):
                server.accept()  # held by the relay, not passed on
            server.settimeout(PATIENCE)

            relay.restore()
            assert receive(client, 6) == b"answer"
            assert receive(accepted, 7) == b"request"
            late_accepted, _ = server.accept()
            with late_accepted:
                late_accepted.settimeout(PATIENCE)
                assert receive(late_accepted, 4) == b"late"


def test_a_hung_relay_can_be_cut_and_restored(relay: TCPRelay, server: socket.socket) -> None:
    client, accepted = connect(relay, server)
    with client, accepted:
        relay.hang()
        relay.cut()
        assert_dropped(client)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(relay.address, timeout=PATIENCE)
    relay.restore()
    client, accepted = connect(relay, server)
    with client, accepted:
        accepted.sendall(b"ok")
        assert receive(client, 2) == b"ok"


# -- closing


def test_close_leaves_no_thread_or_socket_behind(server: socket.socket) -> None:
    threads, fds = set(threading.enumerate()), open_fds()
    for round_number in range(20):
        relay = TCPRelay(server.getsockname())
        client, accepted = connect(relay, server)
        with client, accepted:
            client.sendall(b"x")
            assert receive(accepted, 1) == b"x"
            if round_number % 3 == 1:
                relay.hang()
            elif round_number % 3 == 2:
                relay.cut()
            relay.close()
            relay.close()  # idempotent
    assert set(threading.enumerate()) == threads
    assert open_fds() == fds


def test_a_closed_relay_refuses_control_calls(relay: TCPRelay) -> None:
    relay.close()
    for action in (relay.cut, relay.hang, relay.restore):
        with pytest.raises(RuntimeError, match="closed"):
            action()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(relay.address, timeout=PATIENCE)
