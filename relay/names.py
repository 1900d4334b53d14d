"""People's names, as others read them next to messages. "You" only ever means the viewer:
no name is one of the words that say it, whether typed or derived from an address such as
you@example.org."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from relay.models import User

MAX_NAME = 60
# English and Dutch words for the one reading (and for oneself): a page would show them as
# if the message were the reader's own.
VIEWER_WORDS = frozenset(
    {"you", "yourself", "me", "myself", "i", "jij", "je", "jou", "jezelf", "u", "uzelf", "ik"}
    | {"mij", "mezelf", "zelf"}
)
# Dutch surname particles stay small inside a name: Anna de Vries, Jan van der Berg.
PARTICLES = frozenset({"de", "der", "den", "van", "het", "ten", "ter", "te", "op", "in", "'t"})
UNKNOWN = "Someone"  # the same word the thread document uses for a deleted account

Problem = Literal["empty", "too_long", "control", "viewer"]


def tidy(name: str) -> str:
    """Runs of white space as one space, trimmed."""
    return " ".join(name.split())


def is_viewer_word(name: str) -> bool:
    return tidy(re.sub(r"[^\w\s]", " ", name)).casefold() in VIEWER_WORDS


def problem(name: str) -> Problem | None:
    """Why `name` cannot be a person's name, or None when it can."""
    if not name:
        return "empty"
    if len(name) > MAX_NAME:
        return "too_long"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") for c in name):
        return "control"
    if is_viewer_word(name):
        return "viewer"
    return None


def from_email(email: str) -> str:
    """A name from an address: anna.de.vries+relay@example.org gives "Anna de Vries". Empty
    when that would be a word for the viewer (you@example.org) or nothing at all."""
    local = email.split("@", 1)[0].split("+", 1)[0]
    words = [w for w in re.split(r"[._\-\s]+", local) if w]
    name = " ".join(
        w if i and w.lower() in PARTICLES else w[:1].upper() + w[1:] for i, w in enumerate(words)
    )[:MAX_NAME]
    return "" if problem(name) else name


def name_of(chosen: str | None, email: str | None) -> str:
    """The name others read: the chosen one, else one derived from the address, else a
    neutral word. Names stored before the viewer words were refused are read the same way."""
    chosen = tidy(chosen or "")
    if chosen and not is_viewer_word(chosen):
        return chosen
    return from_email(email or "") or UNKNOWN


def display_name(user: User) -> str:
    return name_of(user.display_name, user.email)
