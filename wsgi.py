"""WSGI entry point: `gunicorn -k gthread --threads 64 wsgi:app` (see README)."""

from app import create_app

app = create_app()
