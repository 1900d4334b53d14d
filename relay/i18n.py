"""The recorder page's words in English and Dutch, and which language a request wants."""

from __future__ import annotations

from collections.abc import Mapping

from relay.i18n_inbox import INBOX_CATALOGS
from relay.i18n_site import CHROME_CATALOGS, ERROR_CATALOGS, PROFILE_CATALOGS, STATUS_CATALOGS
from relay.i18n_thread import THREAD_CATALOGS

LANG_COOKIE = "relay_lang"
DEFAULT = "en"

CATALOGS: dict[str, dict[str, str]] = {
    "en": {
        "page_title": "Record a message",
        "switch_label": "Nederlands",
        "switch_lang": "nl",
        "mode_legend": "What to record",
        "mode_audio": "Voice",
        "mode_camera": "Camera",
        "mode_screen": "Screen",
        "with_camera": "Show my camera in a corner of the screen",
        "options": "Options",
        "title_label": "Title (optional)",
        "microphone": "Microphone",
        "camera": "Camera",
        "default_device": "Default",
        "countdown": "Count down 3-2-1 before recording",
        "level": "Microphone level",
        "preview": "Camera preview",
        "start": "Record",
        "pause": "Pause",
        "resume": "Resume",
        "stop": "Stop",
        "send": "Send",
        "discard": "Delete",
        "retry": "Retry upload",
        "idle": "Press the button to start recording.",
        "preparing": "Preparing…",
        "recording": "Recording",
        "paused": "Paused",
        "review": "Listen back, then send it.",
        "listen": "Listen back",
        "listen_pause": "Pause listening",
        "recording_label": "Your recording",
        "discarded": "The recording was discarded.",
        "max_reached": "The maximum length was reached; the recording stopped.",
        "sent": "Sent",
        "share_label": "Share link",
        "copy_button": "Copy",
        "share": "Share",
        "copied": "Link copied.",
        "copy_failed": "Copy it by hand: the browser did not allow copying.",
        "open_message": "Open the message",
        "record_another": "Record another",
        "delete_message": "Delete message",
        "delete_question": "Delete this message for everyone? This cannot be undone.",
        "delete_confirm": "Delete",
        "delete_cancel": "Keep it",
        "deleted": "The message was deleted.",
        "file_button": "Upload a file",
        "file_label": "Audio or video file",
        "drop_hint": "or drop one here",
        "drop_here": "Drop the file to upload it",
        "file_progress": "Uploading {name}: {percent}%",
        "err_permission": (
            "Relay may not use your microphone or camera. Allow access in the browser's "
            "site settings, then try again."
        ),
        "err_no_device": "No microphone or camera was found. Connect one and try again.",
        "err_unsupported": (
            "This browser cannot record here. Use a recent Chrome, Edge, Firefox or Safari "
            "over https."
        ),
        "err_upload": (
            "The upload failed after several tries. Your recording is kept in this page: "
            "check the connection and press Retry."
        ),
        "err_processing": (
            "Relay could not process this recording. Record it again, or upload it as a file."
        ),
        "err_start": "The recording could not start: {error}",
        "err_create": "The message could not be created: {error}",
        "replying_to": "Replying to:",
        "untitled": "Untitled message",
        "pending_notice": "An earlier recording was not fully uploaded.",
        "pending_upload": "Upload it now",
        "pending_discard": "Discard",
        "pending_failed": (
            "The earlier recording could not be uploaded. Check the connection and press "
            "Upload it now again."
        ),
    },
    "nl": {
        "page_title": "Bericht opnemen",
        "switch_label": "English",
        "switch_lang": "en",
        "mode_legend": "Wat neem je op",
        "mode_audio": "Stem",
        "mode_camera": "Camera",
        "mode_screen": "Scherm",
        "with_camera": "Mijn camera in een hoek van het scherm tonen",
        "options": "Opties",
        "title_label": "Titel (niet verplicht)",
        "microphone": "Microfoon",
        "camera": "Camera",
        "default_device": "Standaard",
        "countdown": "Aftellen 3-2-1 voor de opname",
        "level": "Microfoonniveau",
        "preview": "Cameravoorbeeld",
        "start": "Opnemen",
        "pause": "Pauzeren",
        "resume": "Hervatten",
        "stop": "Stoppen",
        "send": "Versturen",
        "discard": "Verwijderen",
        "retry": "Upload opnieuw proberen",
        "idle": "Druk op de knop om op te nemen.",
        "preparing": "Voorbereiden…",
        "recording": "Opname loopt",
        "paused": "Gepauzeerd",
        "review": "Luister het terug en verstuur het dan.",
        "listen": "Terugluisteren",
        "listen_pause": "Terugluisteren pauzeren",
        "recording_label": "Je opname",
        "discarded": "De opname is weggegooid.",
        "max_reached": "De maximale lengte is bereikt; de opname is gestopt.",
        "sent": "Verstuurd",
        "share_label": "Deellink",
        "copy_button": "Kopiëren",
        "share": "Delen",
        "copied": "Link gekopieerd.",
        "copy_failed": "Kopieer hem met de hand: de browser stond kopiëren niet toe.",
        "open_message": "Bericht openen",
        "record_another": "Nog een opnemen",
        "delete_message": "Bericht verwijderen",
        "delete_question": (
            "Dit bericht voor iedereen verwijderen? Dit kan niet ongedaan worden gemaakt."
        ),
        "delete_confirm": "Verwijderen",
        "delete_cancel": "Bewaren",
        "deleted": "Het bericht is verwijderd.",
        "file_button": "Bestand uploaden",
        "file_label": "Audio- of videobestand",
        "drop_hint": "of sleep er een hierheen",
        "drop_here": "Laat het bestand los om het te uploaden",
        "file_progress": "{name} wordt geüpload: {percent}%",
        "err_permission": (
            "Relay mag je microfoon of camera niet gebruiken. Geef toegang in de "
            "site-instellingen van je browser en probeer het opnieuw."
        ),
        "err_no_device": "Er is geen microfoon of camera gevonden. Sluit er een aan en probeer "
        "het opnieuw.",
        "err_unsupported": (
            "Deze browser kan hier niet opnemen. Gebruik een recente Chrome, Edge, Firefox of "
            "Safari via https."
        ),
        "err_upload": (
            "Het uploaden is na meerdere pogingen mislukt. Je opname blijft in deze pagina "
            "bewaard: controleer de verbinding en druk op Opnieuw proberen."
        ),
        "err_processing": (
            "Relay kon deze opname niet verwerken. Neem hem opnieuw op, of upload hem als bestand."
        ),
        "err_start": "De opname kon niet starten: {error}",
        "err_create": "Het bericht kon niet worden gemaakt: {error}",
        "replying_to": "Antwoord op:",
        "untitled": "Bericht zonder titel",
        "pending_notice": "Een eerdere opname is niet helemaal geüpload.",
        "pending_upload": "Nu uploaden",
        "pending_discard": "Weggooien",
        "pending_failed": (
            "De eerdere opname kon niet worden geüpload. Controleer de verbinding en druk "
            "nogmaals op Nu uploaden."
        ),
    },
}


def pick(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The language: an explicit `?lang=`, else the cookie, else the first known
    language in Accept-Language, else English."""
    for value in (query, cookie):
        if value in CATALOGS:
            return value
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower().split("-")[0]
        if tag in CATALOGS:
            return tag
    return DEFAULT


def _with_status(catalogs: dict[str, dict[str, str]], lang: str) -> Mapping[str, str]:
    """A page's words with the one status vocabulary every page shares."""
    lang = lang if lang in catalogs else DEFAULT
    return catalogs[lang] | STATUS_CATALOGS[lang]


def strings(lang: str) -> Mapping[str, str]:
    return _with_status(CATALOGS, lang)


# The thread page (/t/{id} and /s/{token}). Placeholders in braces are filled by the page's
# script; both languages must have the same keys.
def thread_strings(lang: str) -> Mapping[str, str]:
    return _with_status(THREAD_CATALOGS, lang)


def inbox_strings(lang: str) -> Mapping[str, str]:
    return _with_status(INBOX_CATALOGS, lang)


def chrome_strings(lang: str) -> Mapping[str, str]:
    """The header and skip link of every page."""
    return CHROME_CATALOGS.get(lang, CHROME_CATALOGS[DEFAULT])


def error_strings(lang: str) -> Mapping[str, str]:
    return ERROR_CATALOGS.get(lang, ERROR_CATALOGS[DEFAULT])


def profile_strings(lang: str) -> Mapping[str, str]:
    return PROFILE_CATALOGS.get(lang, PROFILE_CATALOGS[DEFAULT])


# The sign-in page; both languages must have the same keys.
LOGIN_CATALOGS: dict[str, dict[str, str]] = {
    "en": {
        "switch_label": "Nederlands",
        "switch_lang": "nl",
        "login_title": "Sign in",
        "login_email": "E-mail",
        "login_password": "Password",
        "login_submit": "Sign in",
        "login_wrong": "E-mail or password is wrong.",
        "login_too_many": "Too many failed sign-ins. Wait {minutes} min and try again.",
    },
    "nl": {
        "switch_label": "English",
        "switch_lang": "en",
        "login_title": "Inloggen",
        "login_email": "E-mailadres",
        "login_password": "Wachtwoord",
        "login_submit": "Inloggen",
        "login_wrong": "E-mailadres of wachtwoord klopt niet.",
        "login_too_many": (
            "Te veel mislukte aanmeldpogingen. Wacht {minutes} min en probeer het opnieuw."
        ),
    },
}


def login_strings(lang: str) -> Mapping[str, str]:
    return LOGIN_CATALOGS.get(lang, LOGIN_CATALOGS[DEFAULT])
