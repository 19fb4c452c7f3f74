"""The diff of a task's worktree against its base: files, +/- counts and hunks, paged and capped.

What it shows is everything the task changed since it left the base branch: committed on its
branch *and* not yet committed, new files included — what "Merge into base" would bring once
committed. To see untracked files without touching the worktree's own index, the worktree's
index is copied, `git add -A` fills the copy, and the diff runs against that (objects it writes
are unreferenced and go with git's usual gc).

Big diffs stay usable: the changed files are listed in git's order (one `--raw --numstat` call,
cheap however large the diff), then cut into pages of at most `page_size` files and
`PAGE_LINES` changed lines; hunks are read only for the page's files (pathspecs, literal). A file
with more than `FILE_LINES` changed lines is summarized (its counts, no hunks), so is a binary
file; lines longer than `LINE_CHARS` are cut with a mark; the patch read for one page stops at
`PATCH_BYTES`. Each cut is said in `notes`. Text is decoded as UTF-8 with replacement
characters and leaves here as plain strings: templates escape it (no highlighting, no markup).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from app.services.git_cli import Git

FILE_LINES = 3000
PAGE_LINES = 20000
LINE_CHARS = 2000
MAX_FILES = 20000
PATCH_BYTES = 32 * 1024 * 1024
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
DIFF_FLAGS = ["--no-color", "--no-ext-diff", "--no-textconv", "-M"]
STATUS = {"A": "added", "M": "modified", "D": "deleted", "R": "renamed", "C": "copied",
          "T": "type_changed", "U": "unmerged", "X": "unknown"}


def text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class Snapshot:
    """A temporary index holding the worktree as it is (see the module docstring)."""

    def __init__(self, git: Git, worktree: Path) -> None:
        self.git, self.worktree = git, worktree
        index = Path(worktree, git.run(["rev-parse", "--git-path", "index"], worktree)
                     .text.strip())
        self.path = index.parent / f"diff-index-{uuid.uuid4().hex}"
        self.env = {"GIT_INDEX_FILE": str(self.path), "GIT_LITERAL_PATHSPECS": "1"}
        try:
            if index.exists():
                git.tool(["cp", "--preserve=timestamps", "--", str(index), str(self.path)],
                         worktree)  # the same racy-git view as the index itself
            self.run(["add", "-A"])
        except BaseException:
            self.close()
            raise

    def run(self, args: list[str], **kwargs: Any):
        return self.git.run(args, self.worktree, env=self.env, **kwargs)

    def close(self) -> None:
        self.git.tool(["rm", "-f", "--", str(self.path), f"{self.path}.lock"], self.worktree,
                      check=False)


def changed_files(snap: Snapshot, base: str) -> tuple[list[dict[str, Any]], bool]:
    """Every changed file in git's order with status and counts; True when over MAX_FILES."""
    out = snap.run(["diff", "--cached", "--raw", "--numstat", "-z", *DIFF_FLAGS, base, "--"]).out
    parts = out.split(b"\0")
    raw: list[dict[str, Any]] = []
    i = 0
    while i < len(parts) and parts[i].startswith(b":"):
        meta = parts[i][1:].split(b" ")
        letter = text(meta[4][:1]) if len(meta) > 4 else "X"
        entry = {"status": STATUS.get(letter, "unknown"), "old_mode": text(meta[0]),
                 "new_mode": text(meta[1]), "old_raw": parts[i + 1], "raw": parts[i + 1]}
        i += 2
        if letter in ("R", "C"):
            entry["raw"] = parts[i]
            i += 1
        raw.append(entry)
    for entry in raw:  # the numstat records follow, in the same order
        if i >= len(parts):
            break
        added, deleted, rest = [*parts[i].split(b"\t", 2), b"", b""][:3]
        i += 1
        if not rest:  # a rename: the two paths follow as their own records
            i += 2
        binary = added == b"-"
        entry.update(binary=binary, additions=0 if binary else int(added or 0),
                     deletions=0 if binary else int(deleted or 0))
    return [_file(e) for e in raw[:MAX_FILES]], len(raw) > MAX_FILES


def _file(entry: dict[str, Any]) -> dict[str, Any]:
    renamed = entry["status"] in ("renamed", "copied")
    modes = entry["old_mode"], entry["new_mode"]
    return {"path": text(entry["raw"]), "old_path": text(entry["old_raw"]) if renamed else None,
            "status": entry["status"], "additions": entry.get("additions", 0),
            "deletions": entry.get("deletions", 0), "binary": entry.get("binary", False),
            "old_mode": modes[0] if modes[0] != "000000" else None,
            "new_mode": modes[1] if modes[1] != "000000" else None,
            "too_large": False, "hunks": None, "_paths": [entry["raw"], entry["old_raw"]]
            if renamed else [entry["raw"]]}


def pages_of(files: list[dict[str, Any]], page_size: int) -> list[list[dict[str, Any]]]:
    """Consecutive pages of at most `page_size` files and PAGE_LINES changed lines (a file
    whose hunks are not shown costs nothing; every page has at least one file)."""
    pages: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    lines = 0
    for f in files:
        cost = 0 if _summarized(f) else f["additions"] + f["deletions"]
        if current and (len(current) >= page_size or lines + cost > PAGE_LINES):
            pages.append(current)
            current, lines = [], 0
        current.append(f)
        lines += cost
    if current:
        pages.append(current)
    return pages


def _summarized(f: dict[str, Any]) -> bool:
    return f["binary"] or f["additions"] + f["deletions"] > FILE_LINES


def fill_hunks(snap: Snapshot, base: str, files: list[dict[str, Any]]) -> list[str]:
    """Hunks of the page's files, read in one `git diff`; notes about what was cut."""
    notes: list[str] = []
    shown = []
    for f in files:
        f["too_large"] = not f["binary"] and _summarized(f)
        if not _summarized(f):
            shown.append(f)
    if not shown:
        return notes
    paths = [p.decode("utf-8", "surrogateescape") for f in shown for p in f["_paths"]]
    result = snap.run(["diff", "--cached", "-U3", *DIFF_FLAGS, base, "--", *paths],
                      max_bytes=PATCH_BYTES)
    sections = _sections(result.out)
    if result.truncated:
        sections = sections[:-1]  # the last one is cut short
        notes.append(f"This page's diff is over {PATCH_BYTES // (1024 * 1024)} MB: files from "
                     f"{shown[len(sections)]['path'] if len(sections) < len(shown) else 'the end'}"
                     " on are listed with their counts only")
    if len(sections) > len(shown):
        sections = sections[:len(shown)]
    if not all(_matches(section, f) for f, section in zip(shown, sections, strict=False)):
        # git paired or ordered this page's files unlike the listing: one diff per file
        sections = [_one(snap, base, f) for f in shown]
    for f, section in zip(shown, sections, strict=False):
        f["hunks"], cut = _hunks(section)
        if cut:
            notes.append(f"{f['path']}: lines over {LINE_CHARS} characters are cut")
    return notes


def _one(snap: Snapshot, base: str, f: dict[str, Any]) -> list[bytes]:
    paths = [p.decode("utf-8", "surrogateescape") for p in f["_paths"]]
    out = snap.run(["diff", "--cached", "-U3", *DIFF_FLAGS, base, "--", *paths],
                   max_bytes=PATCH_BYTES // 8).out
    return (_sections(out) or [[]])[0]


def _matches(section: list[bytes], f: dict[str, Any]) -> bool:
    """False when the section's `+++ b/` (or, deleted, `--- a/`) line names another file;
    quoted names and sections without those lines (binary, mode only) are not contradicted."""
    new, old = f["_paths"][0], f["_paths"][-1]
    for line in section:
        if line.startswith(b"@@ "):
            break
        if line.startswith(b"+++ b/"):  # git ends the line with a tab when a name has spaces
            return line[6:].rstrip(b"\t") == new
        if line.startswith(b"--- a/") and f["status"] == "deleted":
            return line[6:].rstrip(b"\t") == old
    return True


def _sections(patch: bytes) -> list[list[bytes]]:
    """The patch split into one list of lines per file (hunk lines never start with 'diff')."""
    sections: list[list[bytes]] = []
    for line in patch.split(b"\n"):
        if line.startswith(b"diff --git "):
            sections.append([])
        elif sections:
            sections[-1].append(line)
    return sections


def _hunks(lines: list[bytes]) -> tuple[list[dict[str, Any]], bool]:
    """Hunks with numbered lines from one file's patch section (counts drive the parse, so a
    removed line that reads `--- x` is never taken for a header)."""
    hunks: list[dict[str, Any]] = []
    cut = False
    i = 0
    while i < len(lines) and not lines[i].startswith(b"@@ "):
        i += 1
    while i < len(lines) and lines[i].startswith(b"@@ "):
        header = text(lines[i])
        old_start, old_count, new_start, new_count = _range(header)
        hunk = {"header": header, "old_start": old_start, "old_lines": old_count,
                "new_start": new_start, "new_lines": new_count, "lines": []}
        hunks.append(hunk)
        i += 1
        old_no, new_no = old_start, new_start
        old_left, new_left = old_count, new_count
        while i < len(lines) and (old_left > 0 or new_left > 0 or lines[i].startswith(b"\\")):
            raw = lines[i]
            i += 1
            mark, body = raw[:1], text(raw[1:])
            if len(body) > LINE_CHARS:
                body, cut = body[:LINE_CHARS] + " …", True
            if mark == b"+":
                hunk["lines"].append({"kind": "added", "old": None, "new": new_no, "text": body})
                new_no, new_left = new_no + 1, new_left - 1
            elif mark == b"-":
                hunk["lines"].append({"kind": "removed", "old": old_no, "new": None,
                                      "text": body})
                old_no, old_left = old_no + 1, old_left - 1
            elif mark == b"\\":
                hunk["lines"].append({"kind": "note", "old": None, "new": None,
                                      "text": text(raw[2:])})
            else:
                hunk["lines"].append({"kind": "context", "old": old_no, "new": new_no,
                                      "text": body})
                old_no, new_no = old_no + 1, new_no + 1
                old_left, new_left = old_left - 1, new_left - 1
    return hunks, cut


def _range(header: str) -> tuple[int, int, int, int]:
    """`@@ -a,b +c,d @@ ...` -> (a, b, c, d); a missing count is 1."""
    old, new = header.split(" ")[1:3]

    def pair(spec: str) -> tuple[int, int]:
        start, _, count = spec[1:].partition(",")
        return int(start), int(count) if count else 1

    return (*pair(old), *pair(new))


def public(f: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in f.items() if not k.startswith("_")}
