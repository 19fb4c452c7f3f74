from tests.e2e import test_live_socket as live_socket
from tests.jobs.fixtures import dev, engine_env, fake_claude, project, workers  # noqa: F401
from tests.pages import login_client
from tests.realtime import conftest as realtime

# Page clients logged in through the form (cookies + CSRF), shared with the page tests; the
# socket clients of the realtime and pages-socket tests.
page_client = login_client.page_client
server, token, new_session, connect = (realtime.server, realtime.token, realtime.new_session,
                                       realtime.connect)
sockets = live_socket.sockets
