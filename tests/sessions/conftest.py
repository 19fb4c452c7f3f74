"""Session tests reuse the realtime fixtures (live server, socket clients)."""

from tests.realtime.conftest import connect, new_session, server, token  # noqa: F401
