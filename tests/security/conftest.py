from tests.jobs.fixtures import dev, engine_env, fake_claude, project, workers  # noqa: F401
from tests.pages import login_client

# Page clients logged in through the form (cookies + CSRF), shared with the page tests.
page_client = login_client.page_client
