"""Typed ORM models. Columns mirror the Alembic migrations in relay/migrations."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from relay.db import UTCDateTime, enum_column, utcnow
from relay.enums import (
    JobState,
    LinkRights,
    MemberRole,
    MessageKind,
    MessageStatus,
    TranscriptStatus,
)


def new_id() -> str:
    """A non-guessable id: knowing one id never helps to find another."""
    return secrets.token_urlsafe(12)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Transcription language for this user's messages ("nl", "en"); None: detect per message.
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # The language of their pages when they last signed in or chose one ("nl", "en").
    ui_language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    notify_email: Mapped[bool] = mapped_column(Boolean, default=True)  # mail about new replies
    notify_digest: Mapped[str] = mapped_column(String(8), default="thread")  # or "daily"
    notify_reactions: Mapped[bool] = mapped_column(Boolean, default=False)  # to their messages
    # Where they live ("Europe/Amsterdam"), and the hours ("09:00"–"12:00") that notifications
    # wait out; the daily digest comes at its hour in this zone.
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    focus_from: Mapped[str | None] = mapped_column(String(5), nullable=True)
    focus_until: Mapped[str | None] = mapped_column(String(5), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebSession(Base):
    """A signed-in browser (`link_key` None), or a guest's browser bound to one share link:
    a guest session never stands for an account and dies with its link."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    link_key: Mapped[str | None] = mapped_column(
        ForeignKey("share_links.key", ondelete="CASCADE"), nullable=True, index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[MessageKind] = mapped_column(enum_column(MessageKind))
    status: Mapped[MessageStatus] = mapped_column(enum_column(MessageStatus))
    thread_id: Mapped[str] = mapped_column(String(32), index=True)
    # The moment (seconds) of the parent message this reply points at.
    at: Mapped[float | None] = mapped_column(Float, nullable=True)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), nullable=True
    )
    title: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    original_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    original_type: Mapped[str] = mapped_column(String(200), default="")
    original_name: Mapped[str] = mapped_column(String(300), default="")
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)  # author's override
    # Media job progress: {"transcode": {"state": "done"}, ...} (see workers.transcode.STEPS).
    steps: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    renditions: Mapped[list[Rendition]] = relationship(
        back_populates="message", lazy="raise", cascade="all, delete-orphan"
    )


class Rendition(Base):
    __tablename__ = "renditions"
    __table_args__ = (UniqueConstraint("message_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    storage_key: Mapped[str] = mapped_column(String(300))
    mime: Mapped[str] = mapped_column(String(100))
    bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    message: Mapped[Message] = relationship(back_populates="renditions", lazy="raise")


class Thread(Base):
    __tablename__ = "threads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the first message's id
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ThreadMember(Base):
    """Who takes part in a thread. A membership that came through a link lasts as long as the
    link does (`via_link`); posting in the thread makes it permanent."""

    __tablename__ = "thread_members"

    thread_id: Mapped[str] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[MemberRole] = mapped_column(enum_column(MemberRole))
    via_link: Mapped[str | None] = mapped_column(  # the link's key
        ForeignKey("share_links.key", ondelete="CASCADE"), nullable=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShareLink(Base):
    """A capability URL. The database never holds its token readable: `key` is the token's
    SHA-256 and `seed` lets the server re-derive the token with its secret key (see
    relay.links); links made before migration 0007 have no seed and cannot be shown again."""

    __tablename__ = "share_links"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    seed: Mapped[str | None] = mapped_column(String(32), nullable=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    # The message the link opens at (its preview shows this message).
    message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rights: Mapped[LinkRights] = mapped_column(enum_column(LinkRights), default=LinkRights.reply)
    label: Mapped[str] = mapped_column(String(200), default="")
    passcode_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Upload(Base):
    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    length: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # None: deferred
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    metadata_json: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    store_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lock_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "state", "run_at"),
        Index("ix_jobs_owner_claimed", "owner_id", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    message_id: Mapped[str | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), nullable=True, index=True
    )
    # Whose work it is: the claim serves the owner served longest ago first.
    owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[JobState] = mapped_column(enum_column(JobState), default=JobState.queued)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    worker_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Transcript(Base):
    __tablename__ = "transcripts"

    message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[TranscriptStatus] = mapped_column(enum_column(TranscriptStatus))
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    language_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    model: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Segment(Base):
    __tablename__ = "transcript_segments"
    __table_args__ = (UniqueConstraint("message_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)  # what people see: the author's correction if any
    machine_text: Mapped[str] = mapped_column(Text)  # what the model heard
    words: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[start, end, word], ...]


class Guest(Base):
    """A display name without an account, bound to the reply link it came through."""

    __tablename__ = "guests"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    link_key: Mapped[str] = mapped_column(
        ForeignKey("share_links.key", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Listen(Base):
    """How far one listener has played one message."""

    __tablename__ = "listens"

    message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[float] = mapped_column(Float, default=0.0)  # furthest second reached
    heard: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AnonymousListen(Base):
    """How far one nameless visitor of a link (the hash of their cookie) played one message."""

    __tablename__ = "anonymous_listens"

    message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    link_key: Mapped[str] = mapped_column(
        ForeignKey("share_links.key", ondelete="CASCADE"), primary_key=True, index=True
    )
    listener: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[float] = mapped_column(Float, default=0.0)
    heard: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Reaction(Base):
    __tablename__ = "reactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    emoji: Mapped[str] = mapped_column(String(32))
    at: Mapped[float | None] = mapped_column(Float, nullable=True)  # a moment in the message
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """A change in a thread, for live updates: every relay process polls this table, so an
    event reaches listeners connected to any instance."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    thread_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Throttle(Base):
    """A count of attempts under one key since `since` (see relay.throttle)."""

    __tablename__ = "throttles"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    """A batch of news for one person (relay.notify): pending until due, then sent once, or
    skipped when they heard it all in time. At most one pending per person and scope."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index(
            "ux_notifications_pending",
            "user_id",
            "scope",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(32))  # a thread's id, or "digest"
    state: Mapped[str] = mapped_column(String(16), default="pending")
    since: Mapped[datetime] = mapped_column(UTCDateTime)  # news from this moment on
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # the mail
    # When every push subscription of the person took the batch's push (or none wanted it).
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PushSubscription(Base):
    """A browser that asked for Web Push (its PushSubscription): where to send, and the keys
    that encrypt for it (RFC 8291). An endpoint belongs to whoever subscribed it last."""

    __tablename__ = "push_subscriptions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))  # base64url, an uncompressed P-256 point
    auth: Mapped[str] = mapped_column(String(64))  # base64url, 16 bytes
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServerKey(Base):
    """Keys the server makes for itself on first use and keeps (the VAPID key pair)."""

    __tablename__ = "server_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
