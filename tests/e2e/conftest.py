"""Browser tests: the `browser` and `page_for` fixtures live in tests/browser.py (registered
in tests/conftest.py, once for the whole session)."""
