"""The contract every sessionkit store must meet, shipped so that any backend can prove itself.

Subclass :class:`StoreContract` in a pytest module and give it a store factory::

    from sessionkit.testing import StoreContract

    class TestMyStore(StoreContract):
        def create_store(self):
            return MyStore("myscheme://127.0.0.1/?prefix=test-run-1:")

Every call of ``create_store`` must return a store on the same data (the suite checks that a
second instance reads what the first wrote), isolated from anything else: ``clear`` and
``count`` are tested on it. :func:`require_server` skips a test module locally when its server
is unreachable and fails it when the ``CI`` environment variable says the server is expected.

:class:`FaultContract` checks a network store against a dead and a frozen server, through a
TCP relay in front of the real one.

The suite needs pytest and Hypothesis (``pip install 'sessionkit[test]'``). Besides the fixed
cases it drives each store and a dict through random sequences of operations and compares them.
"""

from .contract import StoreContract
from .faults import FaultContract
from .servers import FrozenClock, free_port, require_server

__all__ = ["FaultContract", "FrozenClock", "StoreContract", "free_port", "require_server"]
