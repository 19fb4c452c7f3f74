from tests.jobs.faults import outage, session_of  # noqa: F401
from tests.jobs.fixtures import dev, engine_env, fake_claude, project, workers  # noqa: F401
from tests.pages.login_client import page_client  # noqa: F401 - test_claude_page_forms.py
