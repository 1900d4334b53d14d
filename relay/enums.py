"""The states and kinds that rows take, shared by the models, the API and the workers."""

from __future__ import annotations

import enum


class MessageKind(enum.StrEnum):
    audio = "audio"
    video = "video"
    text = "text"


class MessageStatus(enum.StrEnum):
    uploading = "uploading"  # created; the recording is still arriving
    processing = "processing"  # upload finished; the media job runs
    ready = "ready"  # playable renditions are stored
    failed = "failed"  # the media job gave up; `error` says why


class JobState(enum.StrEnum):
    queued = "queued"  # waiting for `run_at`
    running = "running"  # claimed by `worker_id` until `lease_until`
    done = "done"  # finished successfully
    failed = "failed"  # gave up; `error` says why


class TranscriptStatus(enum.StrEnum):
    pending = "pending"  # waiting for the playable rendition, then for a worker
    running = "running"  # a worker is transcribing
    done = "done"  # segments are stored
    failed = "failed"  # the message stays playable; `error` says why
    unavailable = "unavailable"  # no sound, or no model configured


class LinkRights(enum.StrEnum):
    view = "view"  # watch and listen
    reply = "reply"  # and reply (guests give a display name first)


class MemberRole(enum.StrEnum):
    owner = "owner"  # started the thread
    member = "member"  # may reply and share
    viewer = "viewer"  # came in through a view-only link
