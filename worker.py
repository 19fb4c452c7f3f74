"""`python worker.py [--burst] [--queues high,normal,low] [--name N]`: one RQ worker (CONTRACT §1).

The app is created once; the worker then takes jobs from the given queues in strict priority
order (a `high` job always goes before any `normal` one).
"""

from __future__ import annotations

import argparse
import logging

from app.process_hardening import harden

harden()  # before anything else: runs are this process's children

from app import create_app  # noqa: E402
from app.jobs import QUEUES  # noqa: E402
from app.jobs.worker import build_worker  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--queues", default=",".join(QUEUES),
                        help="comma-separated, highest priority first (default: high,normal,low)")
    parser.add_argument("--name", help="worker name (default: host.pid)")
    args = parser.parse_args(argv)
    app = create_app()
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    with app.app_context():
        worker = build_worker(app, queues, args.name)
        worker.work(burst=args.burst, with_scheduler=True, logging_level=logging.getLevelName(
            logging.getLogger().level or logging.INFO))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
