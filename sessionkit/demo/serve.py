"""Running the demo on a production server: uvicorn for the ASGI app, gunicorn for the WSGI one.

The server's workers build their own manager (see :func:`.config.manager_from_env`): the
parent passes the store URL through the environment, and the secret is read from the same
place by every worker.
"""

from __future__ import annotations

from typing import Any

ASGI_FACTORY = "sessionkit.demo.asgi:create_app"


def run_uvicorn(host: str, port: int, workers: int) -> int:
    import uvicorn

    uvicorn.run(ASGI_FACTORY, factory=True, host=host, port=port, workers=workers)
    return 0


def run_gunicorn(host: str, port: int, workers: int) -> int:
    from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

    from .wsgi import create_wsgi_app

    class DemoServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
            self.cfg.set("workers", workers)
            if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 27
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            return create_wsgi_app()

    try:
        DemoServer().run()
    except SystemExit as stop:  # gunicorn's arbiter leaves through sys.exit
        return stop.code if isinstance(stop.code, int) else 1
    return 0


SERVERS = {"uvicorn": run_uvicorn, "gunicorn": run_gunicorn}
