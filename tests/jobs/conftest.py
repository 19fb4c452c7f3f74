from tests.jobs.faults import outage, session_of  # noqa: F401
from tests.jobs.fixtures import dev, engine_env, fake_claude, project, workers  # noqa: F401
