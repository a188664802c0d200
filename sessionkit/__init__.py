"""sessionkit: server-side HTTP sessions for any Python framework, on any store chosen by URL."""

from .errors import (
    BackendLoadError,
    ConfigurationError,
    InvalidSessionIdError,
    InvalidTTLError,
    SessionConflictError,
    SessionKitError,
    SessionTooLargeError,
    StoreUnavailableError,
    UnknownBackendError,
    UnsupportedOperationError,
)
from .manager import SessionManager
from .registry import available_backends, open_store, register_backend, unregister_backend
from .serializers import JSONSerializer, Serializer
from .session import Session
from .store import AsyncStore, Store, as_async

__version__ = "0.1.0"

__all__ = [
    "AsyncStore",
    "BackendLoadError",
    "ConfigurationError",
    "InvalidSessionIdError",
    "InvalidTTLError",
    "JSONSerializer",
    "Serializer",
    "Session",
    "SessionConflictError",
    "SessionKitError",
    "SessionManager",
    "SessionTooLargeError",
    "Store",
    "StoreUnavailableError",
    "UnknownBackendError",
    "UnsupportedOperationError",
    "__version__",
    "as_async",
    "available_backends",
    "open_store",
    "register_backend",
    "unregister_backend",
]
