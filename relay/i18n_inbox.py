"""The inbox page's words in English and Dutch, with its search (relay.i18n picks the
language). Placeholders in braces are filled by the page; both languages have the same keys."""

from __future__ import annotations

INBOX_CATALOGS: dict[str, dict[str, str]] = {
    "en": {
        "page_title": "Inbox",
        "record": "Record a message",
        "untitled_thread": "Untitled thread",
        "untitled_audio": "Untitled voice message",
        "untitled_video": "Untitled video message",
        "untitled_text": "Text message",
        "unread": "{count} new",
        "waiting_on_you": "Waiting on you",
        # Before the preview of the reader's own last message: "You: Sounds good".
        "you": "You",
        "kind_audio": "Voice message",
        "kind_video": "Video message",
        "empty_title": "Your inbox is empty",
        "empty": "Record a message and send its link to a colleague. Their answers and the "
        "threads shared with you show up here.",
        "threads_label": "Threads",
        "search_label": "Search what was said and written",
        "search_placeholder": "Search messages",
        "search_clear": "Back to the inbox",
        "search_results": "Results for “{query}”",
        "search_count_one": "1 result",
        "search_count_many": "{count} results",
        "search_none": "Nothing found for “{query}”. Try fewer or other words.",
        "search_failed": "The search did not work: {error}",
        "search_too_long": "A search may have at most {max} characters.",
        "hit_at": "at {time}",
    },
    "nl": {
        "page_title": "Inbox",
        "record": "Bericht opnemen",
        "untitled_thread": "Gesprek zonder titel",
        "untitled_audio": "Spraakbericht zonder titel",
        "untitled_video": "Videobericht zonder titel",
        "untitled_text": "Tekstbericht",
        "unread": "{count} nieuw",
        "waiting_on_you": "Wacht op jou",
        "you": "Jij",
        "kind_audio": "Spraakbericht",
        "kind_video": "Videobericht",
        "empty_title": "Je inbox is leeg",
        "empty": "Neem een bericht op en stuur de link naar een collega. Hun antwoorden en de "
        "gesprekken die met je gedeeld zijn, verschijnen hier.",
        "threads_label": "Gesprekken",
        "search_label": "Zoek in wat er gezegd en geschreven is",
        "search_placeholder": "Zoek in berichten",
        "search_clear": "Terug naar de inbox",
        "search_results": "Resultaten voor “{query}”",
        "search_count_one": "1 resultaat",
        "search_count_many": "{count} resultaten",
        "search_none": "Niets gevonden voor “{query}”. Probeer minder of andere woorden.",
        "search_failed": "Zoeken lukte niet: {error}",
        "search_too_long": "Een zoekopdracht mag hoogstens {max} tekens hebben.",
        "hit_at": "op {time}",
    },
}
