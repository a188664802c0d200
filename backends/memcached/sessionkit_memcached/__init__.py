"""sessionkit-memcached: the ``memcached://`` session store for sessionkit."""

from .settings import OPTION_DEFAULTS, MemcachedSettings
from .store import MemcachedStore

__all__ = ["OPTION_DEFAULTS", "MemcachedSettings", "MemcachedStore"]
