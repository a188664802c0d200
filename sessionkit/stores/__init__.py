"""The stores that ship with the core: ``memory://`` and ``file://``."""
