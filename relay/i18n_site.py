"""Words around every page (the header), the error pages and the profile page, in English and
Dutch (relay.i18n picks the language). Both languages have the same keys."""

from __future__ import annotations

CHROME_CATALOGS: dict[str, dict[str, str]] = {
    "en": {
        "skip_link": "Skip to content",
        "profile": "Your profile",
        "sign_out": "Sign out",
    },
    "nl": {
        "skip_link": "Naar de inhoud",
        "profile": "Je profiel",
        "sign_out": "Uitloggen",
    },
}

# A message's status, in the same words on every page (the recorder, the thread, the inbox).
STATUS_CATALOGS: dict[str, dict[str, str]] = {
    "en": {
        "status_uploading": "Uploading…",
        "status_uploading_percent": "Uploading… {percent}%",
        "status_processing": "Processing…",
        "status_ready": "Ready",
        "status_failed": "Failed",
    },
    "nl": {
        "status_uploading": "Wordt geüpload…",
        "status_uploading_percent": "Wordt geüpload… {percent}%",
        "status_processing": "Wordt verwerkt…",
        "status_ready": "Klaar",
        "status_failed": "Mislukt",
    },
}

# Per status: a title and what to do. The English page adds the error's own detail, which
# the code writes in English; the Dutch page shows the Dutch advice instead.
ERROR_CATALOGS: dict[str, dict[str, str]] = {
    "en": {
        "title_400": "That did not work",
        "text_400": "The request was not what this page expects. Go back and try again.",
        "title_403": "Not allowed",
        "text_403": "You may not do this here. If you were filling in a form, reload the page "
        "and try again.",
        "title_404": "Page not found",
        "text_404": "There is nothing at this address, or it is not shared with you. Check "
        "the link, or ask whoever sent it.",
        "title_405": "Not possible here",
        "text_405": "This address does not take that kind of request.",
        "title_409": "Conflict",
        "text_409": "Something changed in the meantime. Reload the page and try again.",
        "title_410": "No longer available",
        "text_410": "This link was revoked or has expired. Ask whoever sent it for a new one.",
        "title_413": "Too large",
        "text_413": "That is more than this server takes.",
        "title_429": "Too many tries",
        "text_429": "Wait a few minutes, then try again.",
        "title_500": "Something went wrong",
        "text_500": "Relay ran into a problem on its side. Try again in a moment; if it keeps "
        "happening, tell whoever runs this Relay.",
        "title_503": "Unavailable for now",
        "text_503": "Relay is busy or being updated. Try again in a moment.",
        "title_507": "Out of space",
        "text_507": "This server has no room for more recordings right now.",
        "status": "Error {status}",
        "go_home": "Go to the start page",
    },
    "nl": {
        "title_400": "Dat lukte niet",
        "text_400": "Dit verzoek is niet wat deze pagina verwacht. Ga terug en probeer het "
        "opnieuw.",
        "title_403": "Niet toegestaan",
        "text_403": "Dit mag je hier niet doen. Was je een formulier aan het invullen? Laad de "
        "pagina opnieuw en probeer het nog eens.",
        "title_404": "Pagina niet gevonden",
        "text_404": "Op dit adres staat niets, of het is niet met je gedeeld. Controleer de "
        "link, of vraag het aan wie hem stuurde.",
        "title_405": "Hier niet mogelijk",
        "text_405": "Dit adres neemt zo'n verzoek niet aan.",
        "title_409": "Conflict",
        "text_409": "Er is intussen iets veranderd. Laad de pagina opnieuw en probeer het nog "
        "eens.",
        "title_410": "Niet meer beschikbaar",
        "text_410": "Deze link is ingetrokken of verlopen. Vraag wie hem stuurde om een nieuwe.",
        "title_413": "Te groot",
        "text_413": "Dat is meer dan deze server aanneemt.",
        "title_429": "Te veel pogingen",
        "text_429": "Wacht een paar minuten en probeer het dan opnieuw.",
        "title_500": "Er ging iets mis",
        "text_500": "Relay liep aan zijn kant tegen een probleem aan. Probeer het zo nog eens; "
        "blijft het gebeuren, meld het dan aan wie deze Relay beheert.",
        "title_503": "Even niet beschikbaar",
        "text_503": "Relay is druk of wordt bijgewerkt. Probeer het zo nog eens.",
        "title_507": "Geen ruimte meer",
        "text_507": "Deze server heeft nu geen ruimte voor meer opnames.",
        "status": "Fout {status}",
        "go_home": "Naar de startpagina",
    },
}

PROFILE_CATALOGS: dict[str, dict[str, str]] = {
    "en": {
        "page_title": "Your profile",
        "email": "E-mail",
        "name": "Name",
        "name_hint": "Others see this name next to your messages.",
        "language": "Language of the pages",
        "language_hint": "Kept in this browser.",
        "speech": "Language you speak in your messages",
        "speech_hint": "Transcripts are made in this language. With Detect, Relay guesses "
        "for each message, which often goes wrong for Dutch.",
        "speech_detect": "Detect",
        "save": "Save",
        "saved": "Your profile is saved.",
        "name_empty": "Enter your name.",
        "name_too_long": "A name may have at most {max} characters.",
        "name_control": "A name may not contain control characters.",
        "name_viewer": "“{name}” always means whoever is reading. Enter your own name.",
        "problem": "There is a problem",
        "sessions_title": "Sign out everywhere",
        "sessions_text": "Signs you out on every phone and computer, this one included. API "
        "tokens for scripts keep working.",
        "sessions_button": "Sign out everywhere",
        "notify_title": "Notifications",
        "notify_email": "E-mail me when someone replies",
        "notify_email_hint": "One mail about {minutes} minutes after new replies, only with what "
        "you have not heard yet.",
        "notify_no_mail": "This server does not send mail yet: its administrator sets "
        "RELAY_SMTP_URL.",
        "notify_reactions": "Also when someone reacts to my message",
        "notify_when": "How often",
        "notify_each": "Per conversation, after new replies",
        "notify_daily": "One daily digest at {hour}:00",
        "focus_legend": "Focus hours",
        "focus_hint": "Nothing interrupts you then: notifications wait until your focus hours "
        "end. Leave empty for none.",
        "focus_from": "From",
        "focus_until": "Until",
        "notify_save": "Save notifications",
        "notify_saved": "Your notification settings are saved.",
        "push_title": "Notifications on this device",
        "push_hint": "Relay shows a notification on this phone or computer, with the same "
        "timing as the mail.",
        "push_enable": "Turn on for this device",
        "push_disable": "Turn off for this device",
        "push_enabled": "On for this device.",
        "push_disabled": "Off for this device.",
        "push_denied": "The browser blocks notifications for Relay: allow them in its site "
        "settings.",
        "push_unsupported": "This browser cannot show notifications from Relay. On an iPhone, "
        "add Relay to the home screen first.",
        "push_failed": "That did not work. Try again later.",
    },
    "nl": {
        "page_title": "Je profiel",
        "email": "E-mailadres",
        "name": "Naam",
        "name_hint": "Anderen zien deze naam bij je berichten.",
        "language": "Taal van de pagina's",
        "language_hint": "Wordt in deze browser bewaard.",
        "speech": "Taal die je spreekt in je berichten",
        "speech_hint": "De uitgeschreven tekst wordt in deze taal gemaakt. Bij Herkennen raadt "
        "Relay het per bericht, en voor Nederlands gaat dat vaak mis.",
        "speech_detect": "Herkennen",
        "save": "Opslaan",
        "saved": "Je profiel is opgeslagen.",
        "name_empty": "Vul je naam in.",
        "name_too_long": "Een naam mag hoogstens {max} tekens hebben.",
        "name_control": "Een naam mag geen stuurtekens bevatten.",
        "name_viewer": "“{name}” betekent altijd: wie dit leest. Vul je eigen naam in.",
        "problem": "Er is een probleem",
        "sessions_title": "Overal uitloggen",
        "sessions_text": "Logt je uit op elke telefoon en computer, ook deze. API-tokens voor "
        "scripts blijven werken.",
        "sessions_button": "Overal uitloggen",
        "notify_title": "Meldingen",
        "notify_email": "Mail me als iemand reageert",
        "notify_email_hint": "Eén mail zo'n {minutes} minuten na nieuwe reacties, alleen met wat "
        "je nog niet hebt gehoord.",
        "notify_no_mail": "Deze server verstuurt nog geen mail: de beheerder stelt "
        "RELAY_SMTP_URL in.",
        "notify_reactions": "Ook als iemand op mijn bericht reageert met een emoji",
        "notify_when": "Hoe vaak",
        "notify_each": "Per gesprek, na nieuwe reacties",
        "notify_daily": "Eén dagelijks overzicht om {hour}.00 uur",
        "focus_legend": "Focusuren",
        "focus_hint": "Dan stoort niets je: meldingen wachten tot je focusuren voorbij zijn. "
        "Laat leeg voor geen.",
        "focus_from": "Van",
        "focus_until": "Tot",
        "notify_save": "Meldingen opslaan",
        "notify_saved": "Je meldingen zijn opgeslagen.",
        "push_title": "Meldingen op dit apparaat",
        "push_hint": "Relay toont een melding op deze telefoon of computer, op dezelfde "
        "momenten als de mail.",
        "push_enable": "Aanzetten op dit apparaat",
        "push_disable": "Uitzetten op dit apparaat",
        "push_enabled": "Aan op dit apparaat.",
        "push_disabled": "Uit op dit apparaat.",
        "push_denied": "De browser blokkeert meldingen van Relay: sta ze toe in de "
        "site-instellingen.",
        "push_unsupported": "Deze browser kan geen meldingen van Relay tonen. Zet Relay op een "
        "iPhone eerst op het beginscherm.",
        "push_failed": "Dat lukte niet. Probeer het later nog eens.",
    },
}

# Each language named in itself, for language menus.
LANGUAGE_NAMES = {"en": "English", "nl": "Nederlands"}
