"""Framework adapters: each one turns a framework's request and response into a manager's
``open`` and ``commit``.

- :mod:`sessionkit.adapters.wsgi`: WSGI middleware (any WSGI framework).
- :mod:`sessionkit.adapters.asgi`: pure ASGI middleware (Starlette, FastAPI, any ASGI app).
- :mod:`sessionkit.adapters.flask`: a Flask session interface (``pip install sessionkit[flask]``).
- :mod:`sessionkit.adapters.django`: a Django session engine (``pip install sessionkit[django]``).
- :mod:`sessionkit.adapters.aiohttp`: aiohttp.web middleware and ``await get_session(request)``
  (``pip install sessionkit[aiohttp]``).
- :mod:`sessionkit.adapters.litestar`, :mod:`~sessionkit.adapters.quart`,
  :mod:`~sessionkit.adapters.falcon`, :mod:`~sessionkit.adapters.pyramid`: a few lines each
  that put the generic middleware's session where that framework's users look for it.

Nothing is imported here, so that importing one adapter never needs another's framework.
"""
