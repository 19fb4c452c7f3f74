# GENERATED from _async/__init__.py by scripts/unasync.py: edit that file, then re-run.
# ruff: noqa
"""One flavour of the client; see scripts/unasync.py."""
