"""ANSI colour codes as a viewer shows them: named colours as classes, 256-colour and 24-bit
colours as inline `#rrggbb` styles computed from the codes, never anything from the text."""

from __future__ import annotations

from app.pages.ansi import segments, strip


def test_basic_colours_and_flags_are_classes():
    assert segments("\x1b[1;31mred\x1b[0m plain") == [("ansi-red ansi-bold", "", "red"),
                                                        ("", "", " plain")]


def test_256_colour_codes_map_to_the_xterm_palette():
    assert segments("\x1b[38;5;9mx") == [("ansi-bright-red", "", "x")]  # 0-15: named
    assert segments("\x1b[38;5;196mx") == [("", "color:#ff0000", "x")]  # cube 5,0,0
    assert segments("\x1b[38;5;67mx") == [("", "color:#5f87af", "x")]   # cube 1,2,3
    assert segments("\x1b[48;5;232mx") == [("", "background-color:#080808", "x")]  # grey ramp
    assert segments("\x1b[38;5;255mx") == [("", "color:#eeeeee", "x")]


def test_24_bit_colours_are_inline_and_clamped():
    assert segments("\x1b[38;2;255;128;0mo\x1b[48;2;1;2;3mb") == [
        ("", "color:#ff8000", "o"), ("", "color:#ff8000;background-color:#010203", "b")]
    assert segments("\x1b[38;2;999;0;0mx") == [("", "color:#ff0000", "x")]


def test_inverse_swaps_inline_colours_too():
    assert segments("\x1b[38;2;1;2;3;7mx") == [("", "background-color:#010203", "x")]


def test_truncated_extended_codes_change_nothing_and_do_not_swallow_later_codes():
    assert segments("\x1b[38;5mx") == [("", "", "x")]
    assert segments("\x1b[38;2;1;2mx") == [("", "", "x")]
    assert segments("\x1b[38;5;196;1mx") == [("ansi-bold", "color:#ff0000", "x")]


def test_nothing_from_the_text_reaches_class_or_style():
    line = '\x1b[38;2;10;20;30m"><script>alert(1)</script>\x1b[0m'
    [(classes, style, text)] = segments(line)
    assert (classes, style) == ("", "color:#0a141e")
    assert text == '"><script>alert(1)</script>'  # stays text; the template escapes it
    assert strip(line) == text
