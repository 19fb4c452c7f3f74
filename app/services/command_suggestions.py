"""`GET /api/commands/suggestions`: a built-in catalogue ranked with the caller's own history.

Ranking: a suggestion must start with `prefix` (case-insensitive) when one is given; `context`
(a category such as `git`, or any word) boosts entries of that category or containing the word.
The caller's history counts more the more often and the more recently a command was run.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from sqlalchemy import select

from app.errors import utcnow
from app.extensions import db
from app.models.command import CommandRun

CATALOGUE: list[tuple[str, str, str]] = [
    ("git status", "Show the working tree status", "git"),
    ("git add .", "Add all files to staging area", "git"),
    ("git commit -m", "Commit staged changes with message", "git"),
    ("git diff", "Show unstaged changes", "git"),
    ("git diff --staged", "Show staged changes", "git"),
    ("git log --oneline -20", "Show the last 20 commits, one line each", "git"),
    ("git pull --rebase", "Fetch and rebase onto the upstream branch", "git"),
    ("git push", "Push commits to the remote", "git"),
    ("git fetch --all --prune", "Fetch all remotes and drop deleted branches", "git"),
    ("git checkout -b", "Create and switch to a new branch", "git"),
    ("git switch", "Switch branches", "git"),
    ("git branch -a", "List local and remote branches", "git"),
    ("git stash", "Stash uncommitted changes", "git"),
    ("git stash pop", "Re-apply the last stash", "git"),
    ("git clone", "Clone a repository", "git"),
    ("git clean -n", "Preview which untracked files would be deleted", "git"),
    ("npm install", "Install dependencies from package.json", "npm"),
    ("npm ci", "Clean install from package-lock.json", "npm"),
    ("npm test", "Run the test script", "npm"),
    ("npm run build", "Run the build script", "npm"),
    ("npm run dev", "Run the development server script", "npm"),
    ("npm run lint", "Run the lint script", "npm"),
    ("npm outdated", "List outdated packages", "npm"),
    ("npm audit", "Report known vulnerabilities", "npm"),
    ("npx", "Run a package binary", "npm"),
    ("pip install -r requirements.txt", "Install Python requirements", "pip"),
    ("pip install -e .", "Install the project in editable mode", "pip"),
    ("pip list --outdated", "List outdated Python packages", "pip"),
    ("pip freeze", "Print installed packages as requirements", "pip"),
    ("python -m venv .venv", "Create a virtual environment", "python"),
    ("python -m pytest -q", "Run the test suite quietly", "python"),
    ("python -m pytest -x", "Run tests, stop at the first failure", "python"),
    ("python manage.py migrate", "Apply Django migrations", "python"),
    ("python -m http.server", "Serve the current directory over HTTP", "python"),
    ("python --version", "Show the Python version", "python"),
    ("ruff check .", "Lint Python code", "python"),
    ("make", "Build the default target", "make"),
    ("make test", "Run the test target", "make"),
    ("make build", "Run the build target", "make"),
    ("make clean", "Remove build outputs", "make"),
    ("make -j4", "Build with four parallel jobs", "make"),
    ("docker ps", "List running containers", "docker"),
    ("docker ps -a", "List all containers", "docker"),
    ("docker images", "List images", "docker"),
    ("docker build -t", "Build an image with a tag", "docker"),
    ("docker compose up -d", "Start the compose services in the background", "docker"),
    ("docker compose down", "Stop the compose services", "docker"),
    ("docker compose logs -f", "Follow the compose services' logs", "docker"),
    ("docker logs -f", "Follow a container's logs", "docker"),
    ("ls -la", "List all files with details", "files"),
    ("ls -lh", "List files with human-readable sizes", "files"),
    ("cd", "Change directory", "files"),
    ("pwd", "Print the working directory", "files"),
    ("cat", "Print a file", "files"),
    ("less", "Page through a file", "files"),
    ("head -n 50", "Show the first 50 lines", "files"),
    ("tail -n 100", "Show the last 100 lines", "files"),
    ("tail -f", "Follow a growing file", "files"),
    ("find . -name", "Find files by name", "files"),
    ("grep -rn", "Search text recursively with line numbers", "files"),
    ("mkdir -p", "Create a directory and its parents", "files"),
    ("cp -r", "Copy a directory", "files"),
    ("mv", "Move or rename", "files"),
    ("rm -ri", "Remove files, confirming each", "files"),
    ("tree -L 2", "Show the directory tree two levels deep", "files"),
    ("du -sh *", "Size of each entry in the directory", "system"),
    ("df -h", "Free disk space", "system"),
    ("ps aux", "List processes", "system"),
    ("top -b -n 1", "One snapshot of the busiest processes", "system"),
    ("free -m", "Memory use in megabytes", "system"),
    ("uname -a", "Kernel and machine information", "system"),
    ("env | sort", "The environment this command gets", "system"),
    ("which", "Where a program is on PATH", "system"),
    ("curl -I", "Fetch only the HTTP headers of a URL", "network"),
    ("curl -fsSL", "Fetch a URL quietly, failing on HTTP errors", "network"),
    ("ping -c 4", "Send four pings", "network"),
    ("tar -czf archive.tar.gz", "Create a gzip archive", "archive"),
    ("tar -xzf", "Extract a gzip archive", "archive"),
    ("unzip", "Extract a zip archive", "archive"),
    ("cargo build", "Build a Rust project", "rust"),
    ("cargo test", "Test a Rust project", "rust"),
    ("go build ./...", "Build all Go packages", "go"),
    ("go test ./...", "Test all Go packages", "go"),
]
MAX_LIMIT = 50


def _history(user_id: uuid.UUID, limit: int = 500) -> list[tuple[str, Any]]:
    return list(db.session.execute(
        select(CommandRun.command, CommandRun.created_at)
        .where(CommandRun.user_id == user_id)
        .order_by(CommandRun.created_at.desc()).limit(limit)).all())


def suggest(user_id: uuid.UUID, context: str | None, prefix: str | None,
            limit: int = 10) -> list[dict[str, Any]]:
    """Ranked suggestions: {command, description, category, source}."""
    prefix_l = (prefix or "").lower()
    ctx = (context or "").strip().lower()
    scored: dict[str, tuple[float, dict[str, Any]]] = {}

    def consider(command: str, score: float, item: dict[str, Any]) -> None:
        if prefix_l and not command.lower().startswith(prefix_l):
            return
        if ctx:
            if item.get("category") == ctx or command.lower().split(" ", 1)[0] == ctx:
                score += 3.0
            elif ctx in command.lower() or ctx in (item.get("description") or "").lower():
                score += 1.5
            elif not prefix_l:
                return
        if prefix_l:
            score += 2.0 + len(prefix_l) / max(len(command), 1)
        if command not in scored or scored[command][0] < score:
            scored[command] = (score, item)

    now = utcnow()
    counts: dict[str, tuple[int, float]] = {}
    for command, created in _history(user_id):
        text = command.strip()
        if not text or len(text) > 500:
            continue
        age_days = max((now - created).total_seconds() / 86400.0, 0.0)
        n, best = counts.get(text, (0, 0.0))
        counts[text] = (n + 1, max(best, 1.0 / (1.0 + age_days)))
    for text, (n, recency) in counts.items():
        category = text.split(" ", 1)[0].lower()
        consider(text, 1.0 + math.log2(1 + n) + 2.0 * recency,
                 {"command": text, "description": f"From your history (run {n}×)",
                  "category": category, "source": "history"})
    for command, description, category in CATALOGUE:
        consider(command, 1.0, {"command": command, "description": description,
                                "category": category, "source": "catalogue"})
    ranked = sorted(scored.values(), key=lambda pair: (-pair[0], pair[1]["command"]))
    return [item for _, item in ranked[:min(max(limit, 1), MAX_LIMIT)]]
