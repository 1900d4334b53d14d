"""Reaction emoji (pure): one emoji, with its joiners, variation selectors, skin tones, keycap
or flag tags; never text, markup or invisible format characters."""

from __future__ import annotations

import pytest

from relay.reactions import ReactionError, check_emoji

REAL = [
    "👍",
    "👍🏽",  # skin tone
    "👩‍💻",  # ZWJ sequence
    "🏳️‍🌈",  # variation selector and ZWJ
    "🇳🇱",  # regional indicator pair
    "#️⃣",  # keycap
    "1⃣",  # keycap without the variation selector
    "🏴󠁧󠁢󠁥󠁮󠁧󠁿",  # England: tag sequence
    "❤️",
    "❤️‍🔥",
    "🫱🏻‍🫲🏿",
    "👁️‍🗨️",
    "🧑🏻‍❤️‍💋‍🧑🏼",  # ten code points
    "‼️",  # emoji whose code point is punctuation
    "ℹ️",
    "↔️",
    "☺︎",  # text presentation selector
]

HOSTILE = [
    "\u202e👍",  # right-to-left override
    "👍\u202e",
    "👍\u200b",  # zero-width space
    "\u200b",
    "\u2066👍\u2069",  # isolates
    "\u00ad👍",  # soft hyphen
    "\ufeff👍",  # byte order mark
    "👍\u0301",  # combining accent
    "👍\u20dd",  # enclosing circle
    "\u200d",
    "👍\u200d",
    "\u200d👍",
    "👍\u200d\u200d👍",
    "👍\ufe0f\ufe0f",
    "\ufe0f",
    "🏽",  # a skin tone alone
    "🇳",  # half a flag
    "🇳🇱🇳",
    "🇳🇱\u200d🇳🇱",
    "\U000e0067\U000e007f",  # tags alone
    "👍\U000e0067\U000e007f",  # tags on anything but a black flag
    "🏴\U000e0067",  # tags without their end
    "#",
    "#\u20e3\u20e3",
    "a\u20e3",
    "^",  # a modifier symbol that is not a skin tone
    "lol",
    "<b>👍</b>",
    "👍👍",  # two emoji
    "👍" * 11,
    "",
    5,
    None,
]


@pytest.mark.parametrize("emoji", REAL)
def test_real_emoji_are_accepted(emoji: str) -> None:
    assert check_emoji(emoji) == emoji


@pytest.mark.parametrize("emoji", HOSTILE, ids=repr)
def test_format_characters_text_and_several_emoji_are_refused(emoji: object) -> None:
    with pytest.raises(ReactionError, match="single emoji"):
        check_emoji(emoji)
