"""The classroom web app behind ``python -m sim serve``.

``app.create_app`` builds a FastAPI application from a ``ServeConfig``. Each area of the app
is a small module with a ``router`` and its ``MIGRATIONS`` (lecturer, student, exports);
``db`` owns the SQLite schema, ``store`` every query, ``jobs`` the worker processes that run
the model, ``views`` turns rows and results into what templates show. Templates hold no
logic; every asset is served from ``static/``.
"""
