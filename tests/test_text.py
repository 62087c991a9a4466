"""Text people type: what is kept and what is dropped."""

from vault.text import one_line


def test_invisible_characters_are_dropped_and_whitespace_collapsed() -> None:
    assert one_line("  Nguyễn\u00a0 Văn\t\nA\u200b\u202e\x00 ") == "Nguyễn Văn A"


def test_a_name_typed_decomposed_is_stored_composed() -> None:
    decomposed = "Nguye\u0302\u0303n"  # e + combining circumflex + combining tilde
    assert one_line(decomposed) == "Nguyễn"


def test_nothing_visible_is_empty() -> None:
    assert one_line("\u200b\u2060\u202e") == "" and one_line(None) == ""
