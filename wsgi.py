"""WSGI entry point: `gunicorn -k gthread --threads 64 wsgi:app` (see README)."""

from app.process_hardening import make_undumpable

make_undumpable()  # a run sharing our uid must not read our environment or memory via /proc

from app import create_app  # noqa: E402

app = create_app()
