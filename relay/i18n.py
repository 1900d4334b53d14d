"""The recorder page's words in English and Dutch, and which language a request wants."""

from __future__ import annotations

from collections.abc import Mapping

LANG_COOKIE = "relay_lang"
DEFAULT = "en"

CATALOGS: dict[str, dict[str, str]] = {
    "en": {
        "page_title": "Record a message",
        "switch_label": "Nederlands",
        "switch_lang": "nl",
        "mode_legend": "What to record",
        "mode_audio": "Voice only",
        "mode_camera": "Camera and voice",
        "mode_screen": "Screen and voice",
        "mode_screen_camera": "Screen, camera and voice",
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
        "discard": "Discard",
        "rerecord": "Record again",
        "retry": "Retry upload",
        "timer_of": "of",
        "idle": "Ready to record.",
        "preparing": "Preparing…",
        "recording": "Recording…",
        "paused": "Paused.",
        "uploading": "Uploading the rest: {percent}%",
        "processing": "Processing…",
        "ready": "Ready: your message can be played.",
        "failed": "Processing failed: {error}",
        "discarded": "The recording was discarded.",
        "max_reached": "The maximum length was reached; the recording stopped.",
        "share_label": "Share link",
        "copy_button": "Copy",
        "share": "Share",
        "copied": "Link copied.",
        "copy_failed": "Copy it by hand: the browser did not allow copying.",
        "open_message": "Open the message",
        "file_legend": "Or upload a file",
        "file_label": "Audio or video file",
        "drop_hint": "Drop a file here, or choose one.",
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
        "mode_audio": "Alleen stem",
        "mode_camera": "Camera en stem",
        "mode_screen": "Scherm en stem",
        "mode_screen_camera": "Scherm, camera en stem",
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
        "discard": "Weggooien",
        "rerecord": "Opnieuw opnemen",
        "retry": "Upload opnieuw proberen",
        "timer_of": "van",
        "idle": "Klaar om op te nemen.",
        "preparing": "Voorbereiden…",
        "recording": "Opname loopt…",
        "paused": "Gepauzeerd.",
        "uploading": "De rest wordt geüpload: {percent}%",
        "processing": "Wordt verwerkt…",
        "ready": "Klaar: je bericht kan worden afgespeeld.",
        "failed": "Verwerken mislukt: {error}",
        "discarded": "De opname is weggegooid.",
        "max_reached": "De maximale lengte is bereikt; de opname is gestopt.",
        "share_label": "Deellink",
        "copy_button": "Kopiëren",
        "share": "Delen",
        "copied": "Link gekopieerd.",
        "copy_failed": "Kopieer hem met de hand: de browser stond kopiëren niet toe.",
        "open_message": "Bericht openen",
        "file_legend": "Of upload een bestand",
        "file_label": "Audio- of videobestand",
        "drop_hint": "Sleep een bestand hierheen, of kies er een.",
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


def strings(lang: str) -> Mapping[str, str]:
    return CATALOGS.get(lang, CATALOGS[DEFAULT])


# The thread page (/t/{id} and /s/{token}). Placeholders in braces are filled by the page's
# script; both languages must have the same keys.
THREAD_CATALOGS: dict[str, dict[str, str]] = {
    "en": {
        "untitled_thread": "Untitled thread",
        "untitled_audio": "Untitled voice message",
        "untitled_video": "Untitled video message",
        "untitled_text": "Text message",
        "started_by": "Started by {name}",
        "add_to_inbox": "Add to my inbox",
        "messages_label": "Messages",
        "kind_audio": "Voice",
        "kind_video": "Video",
        "kind_text": "Text",
        "status_uploading": "Uploading…",
        "status_processing": "Processing…",
        "status_ready": "Ready",
        "status_failed": "Failed",
        "failed_detail": "This recording could not be processed: {error}",
        "unknown_error": "the reason is unknown.",
        "you": "You",
        "guest": "guest",
        "new": "New",
        "player_label": "Player",
        "nothing_playing": "Choose a message to play.",
        "play": "Play",
        "pause": "Pause",
        "previous": "Previous message",
        "next": "Next message",
        "play_this": "Play {title}",
        "first_unheard": "Play from first unheard",
        "all_heard": "You have heard everything.",
        "speed": "Speed",
        "seek": "Position",
        "position_text": "{position} of {duration}",
        "skip_silences": "Skip silences",
        "captions": "Captions",
        "data_saver": "Data saver",
        "options_label": "Playback options",
        "transcript": "Transcript",
        "transcript_none": "No transcript for this message.",
        "transcript_waiting": "The transcript is being made…",
        "transcript_failed": "The transcript could not be made.",
        "transcript_empty": "Nothing was said in this message.",
        "jump_to": "Play from {time}: {text}",
        "playing": "Playing: {title}",
        "paused": "Paused: {title}",
        "thread_end": "End of the thread.",
        "at_time": "at {time}",
        "at_label": "Play {title} from {time}",
        "reactions": "Reactions",
        "react_with": "React with {emoji}",
        "react_at_moment": "React at this moment",
        "react_at_with": "React with {emoji} at the current moment",
        "remove_reaction": "Remove your {emoji} at {time}",
        "reaction_at": "{emoji} from {name} at {time}",
        "seen_by": "Seen by {names}",
        "seen_entry": "{name} ({percent}%)",
        "not_seen": "Nobody has played this yet.",
        "waiting_on": "Waiting on {names}",
        "reply_heading": "Reply",
        "reply_label": "Write a reply",
        "reply_send": "Send",
        "reply_sending": "Sending…",
        "reply_failed": "The reply could not be sent: {error}",
        "record_reply": "Record a reply",
        "name_heading": "Before you reply",
        "name_label": "Your name",
        "name_submit": "Continue",
        "name_failed": "Your name could not be saved: {error}",
        "delete": "Delete",
        "delete_label": "Delete {title}",
        "delete_confirm": "Delete this message for everyone?",
        "delete_failed": "The message could not be deleted: {error}",
        "action_failed": "That did not work: {error}",
        "revoked": (
            "This link has been revoked or has expired. Ask the person who sent it for a new one."
        ),
        "no_js_note": "Turn on JavaScript for continuous playback, speed and transcripts.",
        "no_media": "This message has no playable recording.",
        "passcode_title": "This link needs a passcode",
        "passcode_explain": "Enter the passcode you were given with the link.",
        "passcode_label": "Passcode",
        "passcode_open": "Open",
        "passcode_wrong": "That passcode is not right. Try again.",
        "passcode_too_many": (
            "Too many wrong passcodes from here. Wait {minutes} min and try again."
        ),
        "passcode_too_many_link": (
            "Too many wrong passcodes for this link. Wait {minutes} min and try again."
        ),
    },
    "nl": {
        "untitled_thread": "Gesprek zonder titel",
        "untitled_audio": "Spraakbericht zonder titel",
        "untitled_video": "Videobericht zonder titel",
        "untitled_text": "Tekstbericht",
        "started_by": "Gestart door {name}",
        "add_to_inbox": "Zet in mijn inbox",
        "messages_label": "Berichten",
        "kind_audio": "Spraak",
        "kind_video": "Video",
        "kind_text": "Tekst",
        "status_uploading": "Wordt geüpload…",
        "status_processing": "Wordt verwerkt…",
        "status_ready": "Klaar",
        "status_failed": "Mislukt",
        "failed_detail": "Deze opname kon niet worden verwerkt: {error}",
        "unknown_error": "de reden is onbekend.",
        "you": "Jij",
        "guest": "gast",
        "new": "Nieuw",
        "player_label": "Speler",
        "nothing_playing": "Kies een bericht om af te spelen.",
        "play": "Afspelen",
        "pause": "Pauzeren",
        "previous": "Vorig bericht",
        "next": "Volgend bericht",
        "play_this": "{title} afspelen",
        "first_unheard": "Afspelen vanaf eerste ongehoorde",
        "all_heard": "Je hebt alles gehoord.",
        "speed": "Snelheid",
        "seek": "Positie",
        "position_text": "{position} van {duration}",
        "skip_silences": "Stiltes overslaan",
        "captions": "Ondertiteling",
        "data_saver": "Databesparing",
        "options_label": "Afspeelopties",
        "transcript": "Transcript",
        "transcript_none": "Geen transcript voor dit bericht.",
        "transcript_waiting": "Het transcript wordt gemaakt…",
        "transcript_failed": "Het transcript kon niet worden gemaakt.",
        "transcript_empty": "In dit bericht wordt niets gezegd.",
        "jump_to": "Afspelen vanaf {time}: {text}",
        "playing": "Speelt: {title}",
        "paused": "Gepauzeerd: {title}",
        "thread_end": "Einde van het gesprek.",
        "at_time": "op {time}",
        "at_label": "{title} afspelen vanaf {time}",
        "reactions": "Reacties",
        "react_with": "Reageer met {emoji}",
        "react_at_moment": "Reageer op dit moment",
        "react_at_with": "Reageer met {emoji} op het huidige moment",
        "remove_reaction": "Verwijder je {emoji} op {time}",
        "reaction_at": "{emoji} van {name} op {time}",
        "seen_by": "Gezien door {names}",
        "seen_entry": "{name} ({percent}%)",
        "not_seen": "Nog niemand heeft dit afgespeeld.",
        "waiting_on": "Wachten op {names}",
        "reply_heading": "Antwoorden",
        "reply_label": "Schrijf een antwoord",
        "reply_send": "Versturen",
        "reply_sending": "Wordt verstuurd…",
        "reply_failed": "Het antwoord kon niet worden verstuurd: {error}",
        "record_reply": "Antwoord opnemen",
        "name_heading": "Voordat je antwoordt",
        "name_label": "Je naam",
        "name_submit": "Doorgaan",
        "name_failed": "Je naam kon niet worden bewaard: {error}",
        "delete": "Verwijderen",
        "delete_label": "{title} verwijderen",
        "delete_confirm": "Dit bericht voor iedereen verwijderen?",
        "delete_failed": "Het bericht kon niet worden verwijderd: {error}",
        "action_failed": "Dat lukte niet: {error}",
        "revoked": (
            "Deze link is ingetrokken of verlopen. Vraag degene die hem stuurde om een nieuwe."
        ),
        "no_js_note": "Zet JavaScript aan voor doorlopend afspelen, snelheid en transcripten.",
        "no_media": "Dit bericht heeft geen afspeelbare opname.",
        "passcode_title": "Voor deze link is een toegangscode nodig",
        "passcode_explain": "Vul de toegangscode in die je bij de link hebt gekregen.",
        "passcode_label": "Toegangscode",
        "passcode_open": "Openen",
        "passcode_wrong": "Die toegangscode klopt niet. Probeer het opnieuw.",
        "passcode_too_many": (
            "Te veel verkeerde toegangscodes vanaf hier. Wacht {minutes} min en probeer het "
            "opnieuw."
        ),
        "passcode_too_many_link": (
            "Te veel verkeerde toegangscodes voor deze link. Wacht {minutes} min en probeer het "
            "opnieuw."
        ),
    },
}


def thread_strings(lang: str) -> Mapping[str, str]:
    return THREAD_CATALOGS.get(lang, THREAD_CATALOGS[DEFAULT])


# The sign-in page; both languages must have the same keys.
LOGIN_CATALOGS: dict[str, dict[str, str]] = {
    "en": {
        "login_title": "Sign in",
        "login_email": "E-mail",
        "login_password": "Password",
        "login_submit": "Sign in",
        "login_wrong": "E-mail or password is wrong.",
        "login_too_many": "Too many failed sign-ins. Wait {minutes} min and try again.",
    },
    "nl": {
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
