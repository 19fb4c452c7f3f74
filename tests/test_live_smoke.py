"""The process helpers themselves: a worker registers with RQ, gunicorn answers."""

from __future__ import annotations

import json
import urllib.request

import pytest


@pytest.mark.slow
def test_worker_process_registers_and_stops(start_worker):
    worker = start_worker()
    assert worker.registered()
    worker.stop()
    assert worker.proc.poll() is not None


@pytest.mark.slow
def test_gunicorn_serves_health(start_gunicorn):
    server = start_gunicorn()
    with urllib.request.urlopen(f"{server.url}/api/health/") as resp:
        assert json.load(resp)["data"]["status"] == "healthy"
