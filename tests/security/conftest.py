from tests.jobs.fixtures import dev, engine_env, fake_claude, project, workers  # noqa: F401
