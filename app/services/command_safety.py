"""Is a command line safe to run? Parsed into words and operators, not matched as a string.

`shlex` (with `punctuation_chars`) splits the line into words and shell operators after a small
scanner has removed comments and turned unquoted newlines into `;`. The words are cut into
simple commands at `; & && || | ( ) $( <(`; each simple command loses its redirections (kept
aside with their targets), leading `NAME=value` assignments and wrappers (`sudo`, `env`, `nice`,
`timeout`, `xargs`, ...), and its program name is reduced to its base name. Rules then look at
the program, its flags, its operands and redirections, and at how commands are chained (a
download piped into a shell). Command substitutions and `sh -c '...'` strings are analysed
recursively, so quoting a command does not hide it, while quoted *data* (`echo "rm -rf /"`)
is not mistaken for a command.

Two severities: `critical` findings make the command unsafe (execute refuses it unless an admin
forces it); `warning` findings are advice. Each finding says why, and suggests what to do instead.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import asdict, dataclass, field
from typing import Any

from app.services import command_rules as rules

OPERATORS = {";", "&", "&&", "||", "|", "|&", ";;", "(", ")", "<(", ">(", "$("}
REDIRECTS = {">", ">>", ">|", "&>", "&>>", ">&", "<", "<<", "<<<", "<>", "<&", "&<"}
MAX_DEPTH = 4


@dataclass
class Finding:
    rule: str
    severity: str
    message: str
    suggestion: str
    segment: str


@dataclass
class Report:
    valid: bool
    safe: bool
    warnings: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    syntax_error: str | None = None

    def to_dict(self, check_safety: bool = True) -> dict[str, Any]:
        out = {"valid": self.valid, "safe": self.safe if check_safety else None,
               "warnings": self.warnings, "suggestions": self.suggestions,
               "findings": [asdict(f) for f in self.findings], "commands": self.commands}
        if self.syntax_error:
            out["syntax_error"] = self.syntax_error
        return out


@dataclass
class Simple:
    """One simple command: program, operands, redirections, what follows it."""

    argv: list[str]
    redirects: list[tuple[str, str]]
    after: str | None
    raw: list[str]
    wrappers: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.argv[0].rsplit("/", 1)[-1] if self.argv else ""

    @property
    def text(self) -> str:
        return " ".join(self.raw)


def _prescan(line: str) -> str:
    """Remove comments, turn unquoted newlines into `;` and backticks into `$( ... )`."""
    out: list[str] = []
    quote: str | None = None
    backtick_open = False
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and quote != "'":
            out.append(line[i:i + 2])
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = None
            out.append(ch)
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "#" and (not out or out[-1][-1:].isspace() or out[-1][-1:] in ";|&("):
            while i < len(line) and line[i] != "\n":
                i += 1
            continue
        elif ch == "\n":
            out.append(" ; ")
        elif ch == "`":
            out.append(" ) " if backtick_open else " $( ")
            backtick_open = not backtick_open
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def tokenize(line: str) -> list[str]:
    lexer = shlex.shlex(_prescan(line), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    tokens = list(lexer)
    merged: list[str] = []
    for tok in tokens:  # `$` `(` -> `$(`
        if tok.startswith("(") and merged and merged[-1] == "$":
            merged[-1] = "$("
            rest = tok[1:]
            if rest:
                merged.append(rest)
            continue
        merged.append(tok)
    return merged


def _is_op(tok: str) -> bool:
    return tok in OPERATORS or (bool(tok) and set(tok) <= set("();|&") and tok not in REDIRECTS)


def _is_redirect(tok: str) -> bool:
    return tok in REDIRECTS or (bool(tok) and set(tok) <= set("<>&|") and tok not in OPERATORS)


def check_syntax(tokens: list[str]) -> str | None:
    if not tokens:
        return "the command is empty"
    depth = 0
    prev: str | None = None
    for i, tok in enumerate(tokens):
        if _is_op(tok) or tok == "$(":
            depth += tok.count("(") - tok.count(")")
            if depth < 0:
                return "unbalanced ')'"
        if _is_redirect(tok) and (i + 1 >= len(tokens) or _is_op(tokens[i + 1])
                                  or _is_redirect(tokens[i + 1])):
            return f"redirection '{tok}' has no target"
        binary = tok in ("&&", "||", "|", "|&")
        if binary and (prev is None or prev in OPERATORS - {")"}):
            return f"'{tok}' has no command before it"
        if tok in (";", "&") and prev in (None, "&&", "||", "|", "|&"):
            return f"'{tok}' has no command before it"
        prev = tok
    if depth > 0:
        return "unbalanced '('"
    if prev in ("&&", "||", "|", "|&"):
        return f"the command ends with '{prev}'"
    return None


def segments(tokens: list[str]) -> list[Simple]:
    """Cut tokens into simple commands, separating redirections from operands."""
    out: list[Simple] = []
    argv: list[str] = []
    redirects: list[tuple[str, str]] = []
    raw: list[str] = []
    i = 0
    while i <= len(tokens):
        tok = tokens[i] if i < len(tokens) else None
        if tok is None or _is_op(tok):
            if argv or redirects:
                if argv and argv[-1].isdigit() and redirects and raw and raw[-1] == argv[-1]:
                    argv.pop()
                out.append(Simple(argv, redirects, tok, raw))
            elif out and tok is not None and out[-1].after in (None, ")"):
                out[-1].after = tok
            argv, redirects, raw = [], [], []
            i += 1
            continue
        raw.append(tok)
        if _is_redirect(tok):
            target = tokens[i + 1] if i + 1 < len(tokens) else ""
            if argv and argv[-1].isdigit() and len(raw) >= 2 and raw[-2] == argv[-1]:
                argv.pop()
            redirects.append((tok, target))
            raw.append(target)
            i += 2
            continue
        argv.append(tok)
        i += 1
    for seg in out:
        rules.unwrap(seg)
    return out


def _substitutions(word: str) -> list[str]:
    """The commands inside `$( ... )` and backticks of a word (quoted words included)."""
    found = []
    i = 0
    while True:
        start = word.find("$(", i)
        if start < 0:
            break
        depth, j = 1, start + 2
        while j < len(word) and depth:
            depth += {"(": 1, ")": -1}.get(word[j], 0)
            j += 1
        found.append(word[start + 2:j - 1])
        i = j
    found += re.findall(r"`([^`]*)`", word)
    return found


def analyze(line: str, depth: int = 0) -> Report:
    """Parse and check `line`; see the module docstring."""
    try:
        tokens = tokenize(line or "")
    except ValueError as exc:
        msg = f"The command does not parse: {str(exc).lower()}"
        return Report(False, True, [msg], ["Check that every quote is closed"], [],
                      syntax_error=str(exc))
    problem = check_syntax(tokens)
    if problem:
        return Report(False, True, [f"The command does not parse: {problem}"],
                      ["Fix the shell syntax; try the command in a terminal first"], [],
                      syntax_error=problem)
    segs = segments(tokens)
    findings: list[Finding] = []
    for index, seg in enumerate(segs):
        for rule, severity, message, suggestion in rules.check(seg, segs, index, tokens):
            findings.append(Finding(rule, severity, message, suggestion, seg.text))
        if depth < MAX_DEPTH:
            for inner in rules.inner_scripts(seg) + [s for w in seg.argv + [t for _, t in
                                                     seg.redirects] for s in _substitutions(w)]:
                findings += analyze(inner, depth + 1).findings
    findings = list({(f.rule, f.message, f.segment): f for f in findings}.values())
    critical = [f for f in findings if f.severity == "critical"]
    warnings = (["This command is potentially destructive"] if critical else [])
    warnings += list(dict.fromkeys(f.message for f in findings))
    suggestions = list(dict.fromkeys(f.suggestion for f in findings if f.suggestion))
    return Report(valid=not critical, safe=not critical, warnings=warnings,
                  suggestions=suggestions, findings=findings,
                  commands=[s.name for s in segs if s.name])
