"""One flavour of the client; see scripts/unasync.py."""
