"""The words of notification mail, in English and Dutch (the person's page language)."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "one": "{name} replied in “{title}”",
        "two": "{first} and {second} replied in “{title}”",
        "more": "{first} and {count} others replied in “{title}”",
        "reacted": "{name} reacted in “{title}”",
        "reaction": "Reacted {emoji} to your message",
        "guests_one": "1 guest",
        "guests": "{count} guests",
        "digest_subject": "{count} new messages in Relay",
        "digest_subject_one": "1 new message in Relay",
        "intro": "New since you last heard this thread:",
        "digest_intro": "New in your threads today:",
        "open": "Open the thread",
        "audio": "Voice message, {duration}",
        "video": "Video message, {duration}",
        "no_transcript": "(no transcript yet)",
        "guest": "guest",
        "why": "You get this mail because you take part in this thread in Relay.",
        "stop": "Stop these mails",
        "untitled": "a conversation",
        "test_subject": "Relay test mail",
        "test_body": "This is a test mail from Relay. If you can read it, mail works.",
        "page_title": "Notification mail",
        "page_ask": "Stop the mails about new messages in your threads?",
        "page_done": "You will get no more mail about new messages. Your profile turns it back on.",
        "page_profile": "Your profile",
    },
    "nl": {
        "one": "{name} reageerde in „{title}”",
        "two": "{first} en {second} reageerden in „{title}”",
        "more": "{first} en {count} anderen reageerden in „{title}”",
        "reacted": "{name} reageerde in „{title}”",
        "reaction": "Reageerde {emoji} op je bericht",
        "guests_one": "1 gast",
        "guests": "{count} gasten",
        "digest_subject": "{count} nieuwe berichten in Relay",
        "digest_subject_one": "1 nieuw bericht in Relay",
        "intro": "Nieuw sinds je dit gesprek voor het laatst hoorde:",
        "digest_intro": "Nieuw in je gesprekken vandaag:",
        "open": "Open het gesprek",
        "audio": "Spraakbericht, {duration}",
        "video": "Videobericht, {duration}",
        "no_transcript": "(nog geen transcript)",
        "guest": "gast",
        "why": "Je krijgt deze mail omdat je meedoet aan dit gesprek in Relay.",
        "stop": "Geen mails meer",
        "untitled": "een gesprek",
        "test_subject": "Testmail van Relay",
        "test_body": "Dit is een testmail van Relay. Kun je dit lezen, dan werkt de mail.",
        "page_title": "Meldingen per mail",
        "page_ask": "Geen mails meer over nieuwe berichten in je gesprekken?",
        "page_done": (
            "Je krijgt geen mail meer over nieuwe berichten. Op je profiel zet je het weer aan."
        ),
        "page_profile": "Je profiel",
    },
}


def words(lang: str | None) -> dict[str, str]:
    return WORDS.get(lang or "en", WORDS["en"])
