"""Text people type: what is kept and what is dropped."""

from vault.kit.text import lines, one_line


def test_invisible_characters_are_dropped_and_whitespace_collapsed() -> None:
    assert one_line("  Nguyễn\u00a0 Văn\t\nA\u200b\u202e\x00 ") == "Nguyễn Văn A"


def test_a_name_typed_decomposed_is_stored_composed() -> None:
    decomposed = "Nguye\u0302\u0303n"  # e + combining circumflex + combining tilde
    assert one_line(decomposed) == "Nguyễn"


def test_nothing_visible_is_empty() -> None:
    assert one_line("\u200b\u2060\u202e") == "" and one_line(None) == ""


def test_several_lines_keep_their_breaks_and_lose_the_rest() -> None:
    typed = "\r\n 12 Lê Duẩn\u202e,\x00  Hải Châu \r\n\u200b\n\nĐà Nẵng\n"
    assert lines(typed) == "12 Lê Duẩn, Hải Châu\n\n\nĐà Nẵng"
    assert lines(None) == "" and lines("\u200b") == ""
