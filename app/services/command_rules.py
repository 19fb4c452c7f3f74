"""The rules of `command_safety`: one function per danger, over one parsed simple command.

Each rule returns (rule id, severity, why, what to do instead) tuples. `critical` means the
command is refused; `warning` is advice shown by `validate`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish", "ash", "busybox", "csh", "tcsh"}
INTERPRETERS = SHELLS | {"python", "python2", "python3", "perl", "ruby", "node", "php", "source",
                         ".", "eval", "sudo"}
DOWNLOADERS = {"curl", "wget", "fetch", "aria2c", "http", "https"}
SYSTEM_DIRS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/opt",
               "/proc", "/root", "/sbin", "/srv", "/sys", "/usr", "/var", "/home", "/mnt",
               "/media", "/snap", "/run", "/lost+found")
SAFE_UNDER = ("/tmp", "/var/tmp", "/dev/shm")  # noqa: S108 - paths to judge, not to use
SAFE_DEVICES = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty",
                "/dev/zero", "/dev/random", "/dev/urandom", "/dev/full"}
WRITE_REDIRECTS = {">", ">>", ">|", "&>", "&>>", "<>"}
POWER = {"shutdown", "reboot", "halt", "poweroff", "kexec"}
WRAPPER_OPTS_WITH_ARG = {
    "sudo": {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user", "--group"},
    "doas": {"-u", "-C"}, "env": {"-u", "-C", "-S", "--unset", "--chdir"},
    "nice": {"-n", "--adjustment"}, "ionice": {"-c", "-n", "-p"}, "timeout": {"-s", "-k",
                                                                           "--signal"},
    "stdbuf": {"-i", "-o", "-e"}, "xargs": {"-I", "-n", "-P", "-L", "-d", "-E", "-s", "-a"},
    "watch": {"-n", "-d"}, "time": {"-f", "-o"}, "command": set(), "exec": {"-a"},
    "builtin": set(), "nohup": set(), "unbuffer": set(), "chronic": set(), "chroot": set(),
}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
Rule = tuple[str, str, str, str]


def unwrap(seg: Any) -> None:
    """Drop leading assignments and wrappers (sudo, env, nice, timeout, xargs...) from argv."""
    argv = list(seg.argv)
    while argv:
        if ASSIGNMENT.match(argv[0]):
            argv.pop(0)
            continue
        name = argv[0].rsplit("/", 1)[-1]
        if name not in WRAPPER_OPTS_WITH_ARG:
            break
        seg.wrappers.append(name)
        argv.pop(0)
        with_arg = WRAPPER_OPTS_WITH_ARG[name]
        while argv and (argv[0].startswith("-") or (name == "env" and ASSIGNMENT.match(argv[0]))):
            opt = argv.pop(0)
            if opt == "--":
                break
            if opt in with_arg and argv:
                argv.pop(0)
        if name == "timeout" and argv:
            argv.pop(0)  # the duration
        if name == "chroot" and argv:
            argv.pop(0)  # the new root
    seg.argv = argv


def _flags(args: list[str]) -> tuple[set[str], list[str]]:
    """Short flags (split into letters), long flags, and operands (everything after `--` too)."""
    flags: set[str] = set()
    operands: list[str] = []
    done = False
    for arg in args:
        if done or not arg.startswith("-") or arg == "-":
            operands.append(arg)
        elif arg == "--":
            done = True
        elif arg.startswith("--"):
            flags.add(arg.split("=", 1)[0])
        else:
            flags.update(f"-{c}" for c in arg[1:])
    return flags, operands


def _norm(path: str) -> str:
    p = re.sub(r"/+", "/", path.strip())
    while p.endswith(("/*", "/.")) and len(p) > 2:
        p = p[:-2]
    if len(p) > 1:
        p = p.rstrip("/") or "/"
    return p


def danger_of_path(path: str) -> str | None:
    """Why deleting/overwriting `path` is catastrophic, or None."""
    p = _norm(path)
    if p in ("/", "/*", "*", ".*", "/.", ""):
        return "the whole filesystem" if p.startswith("/") else "everything in the directory"
    if p in ("~", "$HOME", "${HOME}") or (p.startswith(("~/", "$HOME/", "${HOME}/")) and \
            _norm(p.split("/", 1)[1] if "/" in p else "") in ("", "*")):
        return "your home directory"
    if p == ".." or p.startswith("../") or "/../" in p:
        return "files outside the working directory"
    if re.match(r"^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/", path):
        return "the root filesystem if the variable is empty"
    if p.startswith("/"):
        if any(p == s or p.startswith(s + "/") for s in SAFE_UNDER):
            return None
        if any(p == d or p.startswith(d + "/") for d in SYSTEM_DIRS):
            return f"system files ({p})"
    return None


def is_device(path: str) -> bool:
    p = _norm(path)
    return (p.startswith("/dev/") and p not in SAFE_DEVICES
            and not p.startswith(("/dev/fd/", "/dev/shm/", "/dev/tcp/", "/dev/udp/")))  # noqa: S108


def r_rm(seg: Any) -> Iterator[Rule]:
    flags, operands = _flags(seg.argv[1:])
    recursive = bool(flags & {"-r", "-R", "--recursive"})
    if "--no-preserve-root" in flags:
        yield ("rm-root", "critical", "Command disables rm's protection of '/'",
               "Never use --no-preserve-root; delete specific paths inside the workspace")
    for target in operands:
        danger = danger_of_path(target)
        if danger and (recursive or danger.startswith("system")):
            yield ("rm-system", "critical", f"Command attempts to delete {danger}",
                   "Use 'rm -rf ./directory' to delete a specific directory inside the workspace")
            yield ("rm-system", "critical", f"Command attempts to delete {danger}",
                   "Use 'ls' to list files before deletion")
            return
    if recursive:
        yield ("rm-recursive", "warning", "Recursive delete: it cannot be undone",
               "Run 'ls' on the path first, or use 'rm -ri' to confirm each file")


def r_find(seg: Any) -> Iterator[Rule]:
    args = seg.argv[1:]
    roots = [a for a in args[:3] if not a.startswith("-")]
    destructive = "-delete" in args or any(a in ("-exec", "-execdir", "-ok") and i + 1 < len(args)
                                           and args[i + 1].rsplit("/", 1)[-1] in ("rm", "shred")
                                           for i, a in enumerate(args))
    if destructive and any(danger_of_path(r) for r in roots):
        yield ("find-delete", "critical", "Command deletes files across system directories",
               "Limit find to a directory inside the workspace, and run it without -delete first")


def r_mkfs(seg: Any) -> Iterator[Rule]:
    yield ("mkfs", "critical", "Command formats a filesystem, destroying all data on the device",
           "Formatting disks is not something to do from a task runner; ask an administrator")


def r_partition(seg: Any) -> Iterator[Rule]:
    if any(is_device(a) for a in seg.argv[1:]):
        yield ("partition", "critical", "Command rewrites a disk's partition table",
               "Partition disks from a console, with backups, not from a task runner")


def r_dd(seg: Any) -> Iterator[Rule]:
    for arg in seg.argv[1:]:
        if arg.startswith("of=") and (is_device(arg[3:]) or danger_of_path(arg[3:])):
            yield ("dd-device", "critical", f"Command writes raw data onto {arg[3:]}",
                   "Write to a file in the workspace instead, e.g. 'dd ... of=./image.bin'")


def r_writes_to(seg: Any) -> Iterator[Rule]:
    """tee/cp/mv/install/shred/truncate targets that are devices or system files."""
    _, operands = _flags(seg.argv[1:])
    targets = operands if seg.name in ("tee", "shred", "truncate", "wipefs") else operands[-1:]
    if seg.name in ("cp", "mv", "install") and len(operands) < 2:
        targets = []
    for t in targets:
        if is_device(t):
            yield ("device-write", "critical", f"Command writes directly to the device {t}",
                   "Write to a regular file in the workspace instead")
        elif seg.name in ("shred", "truncate") and danger_of_path(t):
            yield ("system-write", "critical", f"Command destroys {danger_of_path(t)}",
                   "Only shred or truncate files inside the workspace")
    if seg.name == "mv" and len(operands) >= 2:
        for src in operands[:-1]:
            danger = danger_of_path(src)
            if danger:
                yield ("mv-system", "critical", f"Command moves {danger} away",
                       "Move files inside the workspace only")


def r_chmod(seg: Any) -> Iterator[Rule]:
    flags, operands = _flags(seg.argv[1:])
    recursive = bool(flags & {"-R", "--recursive"})
    mode = operands[0] if seg.name == "chmod" and operands else ""
    targets = operands[1:] if len(operands) > 1 else []
    world = bool(re.fullmatch(r"0?[0-7]?7[0-7]7|0?777|a\+rwx|o\+w|a\+w|ugo\+rwx", mode))
    for t in targets:
        danger = danger_of_path(t)
        if danger and (recursive or world or danger.startswith("system")):
            yield ("chmod-system", "critical", f"Command changes permissions or owners of {danger}",
                   "Change permissions of specific files inside the workspace only")
            return
    if world:
        yield ("chmod-world", "warning", "Command makes files writable by every user",
               "Use 'chmod 755' for directories and 'chmod 644' for files, or 'chmod u+x'")


def r_power(seg: Any) -> Iterator[Rule]:
    yield ("power", "critical", "Command shuts down or restarts the machine",
           "Ask an administrator; use the queue pause and maintenance mode instead")


def r_init(seg: Any) -> Iterator[Rule]:
    if any(a in ("0", "6") for a in seg.argv[1:2]):
        yield from r_power(seg)


def r_systemctl(seg: Any) -> Iterator[Rule]:
    verbs = {"poweroff", "reboot", "halt", "kexec", "suspend", "hibernate", "emergency",
             "rescue", "soft-reboot"}
    if any(a in verbs for a in seg.argv[1:]):
        yield from r_power(seg)


def r_kill(seg: Any) -> Iterator[Rule]:
    _, operands = _flags([a for a in seg.argv[1:] if not re.fullmatch(r"-\d+|-[A-Z]+", a)
                          or a == "-1"])
    if "-1" in seg.argv[2:] or "1" in operands or seg.name == "killall5":
        yield ("kill-all", "critical", "Command kills every process (or init)",
               "Kill a specific process id, e.g. 'kill <pid>' after 'ps aux | grep name'")


def r_netcat(seg: Any) -> Iterator[Rule]:
    flags, _ = _flags(seg.argv[1:])
    if flags & {"-e", "-c", "--exec", "--sh-exec"}:
        yield ("reverse-shell", "critical", "Command hands a shell to a network connection",
               "Do not expose a shell over the network")


def r_privilege(seg: Any) -> Iterator[Rule]:
    yield ("privilege", "warning", "Command asks for elevated privileges; workers have no "
           "terminal to type a password", "Run it without sudo, or ask an administrator")


def r_git(seg: Any) -> Iterator[Rule]:
    args = seg.argv[1:]
    if "push" in args and ({"--force", "-f", "--force-with-lease"} & set(args)):
        yield ("git-force", "warning", "Force-push rewrites history on the remote",
               "Prefer 'git push --force-with-lease', or push to a new branch")
    if "reset" in args and "--hard" in args:
        yield ("git-reset", "warning", "'git reset --hard' discards uncommitted changes",
               "Run 'git stash' first to keep your changes")
    if "clean" in args and any(a.startswith("-") and "f" in a for a in args):
        yield ("git-clean", "warning", "'git clean -f' deletes untracked files",
               "Run 'git clean -n' first to see what would be deleted")


def r_docker(seg: Any) -> Iterator[Rule]:
    args = seg.argv[1:]
    if "--privileged" in args or any(re.match(r"^/:", a) for a in args):
        yield ("docker-host", "warning", "Container gets full access to the host",
               "Mount only the directories the container needs, without --privileged")


def r_crontab(seg: Any) -> Iterator[Rule]:
    if "-r" in seg.argv[1:]:
        yield ("crontab-remove", "warning", "'crontab -r' deletes every scheduled job",
               "Use 'crontab -l' to look first, or 'crontab -e' to edit")


BY_NAME: dict[str, Callable[[Any], Iterator[Rule]]] = {
    "rm": r_rm, "find": r_find, "dd": r_dd, "tee": r_writes_to, "cp": r_writes_to,
    "mv": r_writes_to, "install": r_writes_to, "shred": r_writes_to, "truncate": r_writes_to,
    "chmod": r_chmod, "chown": r_chmod, "chgrp": r_chmod, "init": r_init, "telinit": r_init,
    "systemctl": r_systemctl, "kill": r_kill, "pkill": r_kill, "killall5": r_kill,
    "nc": r_netcat, "ncat": r_netcat, "netcat": r_netcat, "su": r_privilege,
    "git": r_git, "docker": r_docker, "podman": r_docker, "crontab": r_crontab,
    "fdisk": r_partition, "sfdisk": r_partition, "parted": r_partition, "gdisk": r_partition,
    "sgdisk": r_partition, "wipefs": r_mkfs, "mkswap": r_mkfs, "mke2fs": r_mkfs,
}


def _redirect_rules(seg: Any) -> Iterator[Rule]:
    for op, target in seg.redirects:
        if target.startswith(("/dev/tcp/", "/dev/udp/")):
            yield ("reverse-shell", "critical", "Command connects a shell to the network "
                   "(reverse shell)", "Do not expose a shell over the network")
        elif op in WRITE_REDIRECTS or op.startswith(">"):
            if is_device(target):
                yield ("device-write", "critical", f"Command writes directly to the device "
                       f"{target}", "Redirect output to a file in the workspace instead")
            elif target.startswith("/") and not target.startswith("/dev/") \
                    and danger_of_path(target):
                yield ("system-write", "critical", f"Command overwrites {danger_of_path(target)}",
                       "Write to a file inside the workspace instead")


def _fork_bomb(tokens: list[str]) -> Iterator[Rule]:
    for i, tok in enumerate(tokens[:-1]):
        opens = tokens[i + 1] == "()" or tokens[i + 1:i + 3] == ["(", ")"]
        if tok == "function" and i + 1 < len(tokens):
            name, opens = tokens[i + 1], True
        else:
            name = tok
        if not opens:
            continue
        body = tokens[i + 2:i + 40]
        calls = [j for j, t in enumerate(body) if t == name]
        piped = any(body[j + 1:j + 3] == ["|", name] for j in calls)
        if piped or (len(calls) >= 1 and "&" in body and name in body):
            yield ("fork-bomb", "critical", "Command is a fork bomb: it multiplies processes "
                   "until the machine stops responding", "Do not run it")
            return


def _pipe_to_shell(seg: Any, segs: list[Any], index: int, tokens: list[str]) -> Iterator[Rule]:
    if seg.name in DOWNLOADERS and seg.after in ("|", "|&") and index + 1 < len(segs):
        nxt = segs[index + 1]
        if nxt.name in INTERPRETERS or (set(nxt.wrappers) & {"sudo", "doas"} and nxt.name):
            yield ("pipe-to-shell", "critical", "Command runs a script downloaded from the "
                   "internet without showing it", "Download it to a file first, read it, then "
                   "run it: 'curl -fsSLo install.sh URL && less install.sh'")
    if seg.name in SHELLS | {"source", "."} and seg.after == "<(" and index + 1 < len(segs) \
            and segs[index + 1].name in DOWNLOADERS:
        yield ("pipe-to-shell", "critical", "Command runs a script downloaded from the internet "
               "without showing it", "Download it to a file first, read it, then run it")


def _downloads_into_interpreter(seg: Any) -> Iterator[Rule]:
    if seg.name in INTERPRETERS:
        text = " ".join(seg.argv[1:])
        if re.search(r"(\$\(|`)\s*(curl|wget|fetch)\b", text):
            yield ("pipe-to-shell", "critical", "Command runs a script downloaded from the "
                   "internet without showing it", "Download it to a file first, read it, "
                   "then run it")


def check(seg: Any, segs: list[Any], index: int, tokens: list[str]) -> list[Rule]:
    found: list[Rule] = []
    name = seg.name
    if name in BY_NAME:
        found += BY_NAME[name](seg)
    if name.startswith("mkfs") or name in ("mkdosfs", "mkntfs"):
        found += r_mkfs(seg)
    if name in POWER:
        found += r_power(seg)
    if set(seg.wrappers) & {"sudo", "doas"} or name in ("sudo", "doas"):
        found += r_privilege(seg)
    found += _redirect_rules(seg)
    found += _pipe_to_shell(seg, segs, index, tokens)
    found += _downloads_into_interpreter(seg)
    if index == 0:
        found += _fork_bomb(tokens)
    return found


def inner_scripts(seg: Any) -> list[str]:
    """Scripts a command runs from a string: `sh -c '...'`, `eval ...`, `su -c '...'`."""
    if seg.name in SHELLS | {"su"} and "-c" in seg.argv:
        i = seg.argv.index("-c")
        return seg.argv[i + 1:i + 2]
    if seg.name == "eval":
        return [" ".join(seg.argv[1:])]
    return []
