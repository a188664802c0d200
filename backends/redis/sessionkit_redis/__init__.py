"""Redis session store for sessionkit: ``sessionkit.open_store("redis://127.0.0.1:6379/0")``.

Schemes: ``redis``, ``rediss`` (TLS), ``redis+unix``, ``redis+sentinel`` and ``redis+cluster``;
see :mod:`sessionkit_redis.settings` and the README for the URL forms and options.
"""

from .async_store import AsyncRedisStore
from .settings import OPTION_DEFAULTS, RedisSettings
from .store import RedisStore

__version__ = "0.1.0"

__all__ = [
    "OPTION_DEFAULTS",
    "AsyncRedisStore",
    "RedisSettings",
    "RedisStore",
    "__version__",
]
