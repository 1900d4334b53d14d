"""Names as others read them: derived from an address, chosen, and never a word for the
reader ("You" only ever means the viewer)."""

from __future__ import annotations

import pytest

from relay import names
from relay.models import User


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("anna.de.vries@example.org", "Anna de Vries"),
        ("jan_van_der_berg+relay@example.org", "Jan van der Berg"),
        ("gil@example.org", "Gil"),
        ("you@example.org", ""),
        ("You@example.org", ""),
        ("jij@example.org", ""),
        ("u@example.org", ""),
        ("me.@example.org", ""),
        ("--@example.org", ""),
    ],
)
def test_name_from_email(email: str, expected: str) -> None:
    assert names.from_email(email) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Anna de Vries", None),
        ("", "empty"),
        ("x" * 61, "too_long"),
        ("Ann\u200bSmit", "control"),
        ("You", "viewer"),
        ("  jij! ", "viewer"),
        ("U.", "viewer"),
        ("Youri", None),
        ("Jij en ik", None),
    ],
)
def test_name_problems(name: str, expected: str | None) -> None:
    assert names.problem(names.tidy(name)) == expected


def test_display_name_of_an_account_stored_as_you_is_never_you() -> None:
    """Accounts made before names were checked kept "you" from you@example.org."""
    assert names.display_name(User(email="you@example.org", display_name="you")) == "Someone"
    assert names.display_name(User(email="anna@example.org", display_name="you")) == "Anna"
    assert names.display_name(User(email="a@example.org", display_name=" Anna  Smit ")) == (
        "Anna Smit"
    )
