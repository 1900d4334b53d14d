"""Where a message's bytes live in storage; every module that stores or deletes them asks here.

originals/<message>/<upload>       what its author uploaded
renditions/<message>/<file>        what the media job made (video.mp4, audio.m4a, ...)
renditions/<message>/captions.vtt  the captions of its transcript
"""

from __future__ import annotations


def original(message_id: str, upload_id: str) -> str:
    return f"originals/{message_id}/{upload_id}"


def rendition(message_id: str, filename: str) -> str:
    return f"renditions/{message_id}/{filename}"


def captions(message_id: str) -> str:
    return rendition(message_id, "captions.vtt")


def prefixes(message_id: str) -> tuple[str, ...]:
    """Every folder that holds something of the message."""
    return f"originals/{message_id}/", f"renditions/{message_id}/"
