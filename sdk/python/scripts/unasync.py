"""Generate the sync client (`_sync/`) from the asyncio one (`_async/`).

    .venv/bin/python sdk/python/scripts/unasync.py           # rewrite _sync/*.py
    .venv/bin/python sdk/python/scripts/unasync.py --check   # fail if they are out of date

The technique httpcore uses: one hand-written flavour, the other derived by replacing tokens
(`async def` → `def`, `await ` → nothing, `AsyncX` → `X`, `__aenter__` → `__enter__`, ...), so
the two clients cannot drift apart. `_compat.py`, the few lines that really differ (sleep, locks,
the websocket and HTTP client classes), is written by hand in both folders.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "claude_cli_sdk"
SOURCE, TARGET = PACKAGE / "_async", PACKAGE / "_sync"
HAND_WRITTEN = {"_compat.py"}
SUBS = [
    (r"\basync def\b", "def"),
    (r"\basync for\b", "for"),
    (r"\basync with\b", "with"),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\b__anext__\b", "__next__"),
    (r"\baclose\b", "close"),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\bAwaitable\[([^\]]*)\]", r"\1"),
    (r"\bAsync([A-Z]\w*)", r"\1"),
    (r"\b_async\b", "_sync"),
    (r"\basyncio\b", "sync"),
    (r"\basynchronous\b", "synchronous"),
]
HEADER = ("# GENERATED from _async/{name} by scripts/unasync.py: edit that file, then re-run.\n"
          "# ruff: noqa\n")


def convert(text: str) -> str:
    for pattern, replacement in SUBS:
        text = re.sub(pattern, replacement, text)
    return text


def outputs() -> dict[Path, str]:
    result = {}
    for source in sorted(SOURCE.glob("*.py")):
        if source.name in HAND_WRITTEN:
            continue
        result[TARGET / source.name] = HEADER.format(name=source.name) + convert(
            source.read_text())
    return result


def main() -> None:
    stale = [path for path, text in outputs().items()
             if not path.exists() or path.read_text() != text]
    if "--check" in sys.argv:
        if stale:
            sys.exit("out of date: " + ", ".join(p.name for p in stale))
        return
    for path, text in outputs().items():
        path.write_text(text)
    print(f"wrote {len(outputs())} files in {TARGET}")


if __name__ == "__main__":
    main()
