"""Framework adapters: each one turns a framework's request and response into a manager's
``open`` and ``commit``.

- :mod:`sessionkit.adapters.wsgi`: WSGI middleware (any WSGI framework).
- :mod:`sessionkit.adapters.asgi`: pure ASGI middleware (Starlette, FastAPI, any ASGI app).
- :mod:`sessionkit.adapters.flask`: a Flask session interface (``pip install sessionkit[flask]``).
- :mod:`sessionkit.adapters.django`: a Django session engine (``pip install sessionkit[django]``).

Nothing is imported here, so that importing one adapter never needs another's framework.
"""
