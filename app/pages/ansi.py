"""ANSI colours in output lines, made safe: SGR codes become class names, text stays text.

A line is cut into `(classes, style, text)` segments. Templates print each segment as
`<span class="{{ classes }}" style="{{ style }}">{{ text }}</span>` with autoescaping, so
nothing in the output can ever become markup: class names come only from the fixed tables
below and styles only from `#rrggbb` colours formatted from integers (both built from the
integer SGR codes, never copied from the output), and the text is escaped like any other value.

Handled: reset, bold, dim, italic, underline, inverse, the 8 + 8 bright foreground and
background colours (classes, themed by viewer.css), 256-colour codes (0-15 as those classes,
16-255 as the xterm cube and grey ramp) and 24-bit colours (the last two as inline colours).
Every other escape sequence (cursor movement, OSC titles, erase line) is removed. A carriage
return inside a line keeps what a terminal would show: the text after the last one (progress
bars). Colour state does not carry from one line to the next.
"""

from __future__ import annotations

import re

# CSI ... final byte, OSC ... BEL/ST, and lone two-byte escapes.
_ESCAPES = re.compile(r"\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
COLOURS = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
_CUBE = (0, 95, 135, 175, 215, 255)  # xterm's 6x6x6 colour cube levels
Segment = tuple[str, str, str]  # (classes, style, text)


def _colour(code: int) -> str:
    """0-15 as a colour name (8-15 are the bright ones)."""
    return ("bright-" if code >= 8 else "") + COLOURS[code % 8]


def _rgb(r: int, g: int, b: int) -> str:
    """An inline colour from three integers (clamped): the only form a style can take."""
    return "#{:02x}{:02x}{:02x}".format(*(min(max(int(v), 0), 255) for v in (r, g, b)))


def _xterm(n: int) -> str:
    """256-colour code n as a colour name (0-15) or an inline colour (16-255)."""
    if n < 16:
        return _colour(n)
    if n < 232:
        n -= 16
        return _rgb(_CUBE[n // 36], _CUBE[n // 6 % 6], _CUBE[n % 6])
    grey = 8 + 10 * (min(n, 255) - 232)
    return _rgb(grey, grey, grey)


class _State:
    __slots__ = ("bg", "bold", "dim", "fg", "inverse", "italic", "underline")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.fg: str | None = None
        self.bg: str | None = None
        self.bold = self.dim = self.italic = self.underline = self.inverse = False

    def look(self) -> tuple[str, str]:
        """(classes, style): named colours and flags as classes, `#rrggbb` ones as style."""
        fg, bg = (self.bg, self.fg) if self.inverse else (self.fg, self.bg)
        out, style = [], []
        if fg:
            if fg[0] == "#":
                style.append(f"color:{fg}")
            else:
                out.append(f"ansi-{fg}")
        if bg:
            if bg[0] == "#":
                style.append(f"background-color:{bg}")
            else:
                out.append(f"ansi-bg-{bg}")
        if self.inverse and not (fg or bg):
            out.append("ansi-inverse")
        for flag in ("bold", "dim", "italic", "underline"):
            if getattr(self, flag):
                out.append(f"ansi-{flag}")
        return " ".join(out), ";".join(style)

    def apply(self, params: str) -> None:
        codes = [int(p) if p.isdigit() else 0 for p in params.replace(":", ";").split(";")]
        i = 0
        while i < len(codes):
            code = codes[i]
            i += 1
            if code in (38, 48):
                i = self._extended(code, codes, i)
            else:
                self._simple(code)

    def _extended(self, code: int, codes: list[int], i: int) -> int:
        """38;5;n / 48;5;n (256 colours) and 38;2;r;g;b / 48;2;r;g;b (24-bit)."""
        mode = codes[i] if i < len(codes) else None
        colour = None
        if mode == 5 and i + 1 < len(codes):
            colour, i = _xterm(codes[i + 1]), i + 2
        elif mode == 2 and i + 3 < len(codes):
            colour, i = _rgb(*codes[i + 1:i + 4]), i + 4
        else:
            return len(codes) if mode in (2, 5) else i + 1  # truncated: nothing more to read
        if code == 38:
            self.fg = colour
        else:
            self.bg = colour
        return i

    def _simple(self, code: int) -> None:
        if code == 0:
            self.reset()
        elif code == 1:
            self.bold = True
        elif code == 2:
            self.dim = True
        elif code == 3:
            self.italic = True
        elif code == 4:
            self.underline = True
        elif code == 7:
            self.inverse = True
        elif code == 22:
            self.bold = self.dim = False
        elif code == 23:
            self.italic = False
        elif code == 24:
            self.underline = False
        elif code == 27:
            self.inverse = False
        elif 30 <= code <= 37:
            self.fg = _colour(code - 30)
        elif 90 <= code <= 97:
            self.fg = _colour(code - 90 + 8)
        elif code == 39:
            self.fg = None
        elif 40 <= code <= 47:
            self.bg = _colour(code - 40)
        elif 100 <= code <= 107:
            self.bg = _colour(code - 100 + 8)
        elif code == 49:
            self.bg = None


def visible(text: str) -> str:
    """What a terminal shows of one line: no trailing newline, the part after the last `\\r`."""
    text = text.rstrip("\n")
    if text.endswith("\r"):
        text = text[:-1]
    if "\r" in text:
        text = text.rsplit("\r", 1)[1]
    return text


def segments(text: str) -> list[Segment]:
    """`text` (one line) as (classes, text) pieces; classes is "" for uncoloured text."""
    text = visible(text)
    if "\x1b" not in text:
        return [("", "", _CONTROL.sub("", text))] if text else []
    state = _State()
    out: list[Segment] = []
    pos = 0
    for match in _ESCAPES.finditer(text):
        if match.start() > pos:
            _add(out, state.look(), text[pos:match.start()])
        pos = match.end()
        if match.group(2) == "m":
            state.apply(match.group(1) or "0")
    if pos < len(text):
        _add(out, state.look(), text[pos:])
    return out


def _add(out: list[Segment], look: tuple[str, str], piece: str) -> None:
    piece = _CONTROL.sub("", piece.replace("\x1b", ""))
    if not piece:
        return
    if out and out[-1][:2] == look:
        out[-1] = (*look, out[-1][2] + piece)
    else:
        out.append((*look, piece))


def strip(text: str) -> str:
    """The line without any escape sequence (for copies and searches)."""
    return "".join(piece for _, _, piece in segments(text))
