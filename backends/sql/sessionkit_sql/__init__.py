"""sessionkit-sql: session stores on SQLite, PostgreSQL and MySQL/MariaDB (SQLAlchemy Core).

Installed, it serves ``sqlite://``, ``postgresql://``, ``mysql://`` and ``mariadb://`` URLs
(with any ``+driver``) through :func:`sessionkit.open_store`.
"""

from .config import DEFAULT_TABLE, OPTION_DEFAULTS, OPTIONS
from .schema import session_table
from .store import AsyncCapableSQLStore, SQLStore

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_TABLE",
    "OPTIONS",
    "OPTION_DEFAULTS",
    "AsyncCapableSQLStore",
    "SQLStore",
    "__version__",
    "session_table",
]
