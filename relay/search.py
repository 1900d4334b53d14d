"""Full-text search over transcripts and text messages: FTS5 on SQLite, language-aware
`tsvector` on PostgreSQL. Rows are written here, not by triggers, so both dialects share
the code that decides what is indexed."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from relay import names
from relay.models import User

MAX_QUERY = 200
# Private-use characters mark the highlighted words before the snippet is HTML-escaped.
_OPEN, _CLOSE = "\ue000", "\ue001"
_CONFIGS = {"en": "english", "nl": "dutch"}
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    message_id: str
    title: str
    kind: str
    start: float
    snippet_html: str
    thread_id: str = ""
    thread_title: str = ""
    speaker: str = ""

    @property
    def thread_url(self) -> str:
        """The thread page at the message, playing from the moment of the hit."""
        return f"/t/{self.thread_id}?t={self.start:.1f}#m-{self.message_id}"


def ts_config(language: str | None) -> str:
    """PostgreSQL text-search configuration: stemming for languages we know."""
    return _CONFIGS.get((language or "")[:2], "simple")


def fts5_query(query: str) -> str:
    """User words as an FTS5 AND of quoted terms, the last one a prefix (search as you type)."""
    words = _WORD.findall(query)
    if not words:
        return ""
    terms = [f'"{w}"' for w in words]
    terms[-1] += "*"
    return " ".join(terms)


def highlight(snippet: str) -> str:
    """Escape the snippet, then turn the markers into <mark> elements."""
    escaped = html.escape(snippet.replace("\n", " "))
    return escaped.replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")


async def replace_entries(
    session: AsyncSession,
    message_id: str,
    entries: list[tuple[float, str]],
    language: str | None,
) -> None:
    """Make (start seconds, text) the message's entries in the index."""
    await remove_entries(session, message_id)
    rows = [
        {"m": message_id, "p": i, "s": start, "b": body, "c": ts_config(language)}
        for i, (start, body) in enumerate(entries)
        if body.strip()
    ]
    if not rows:
        return
    if session.bind.dialect.name == "sqlite":
        sql = "INSERT INTO search_index (message_id, position, start, body) VALUES (:m, :p, :s, :b)"
    else:
        sql = (
            "INSERT INTO search_index (message_id, position, start, body, config) "
            "VALUES (:m, :p, :s, :b, CAST(:c AS regconfig))"
        )
    await session.execute(text(sql), rows)


async def remove_entries(session: AsyncSession, message_id: str) -> None:
    await session.execute(text("DELETE FROM search_index WHERE message_id = :m"), {"m": message_id})


# Own messages, and messages in threads one belongs to for good (link-bound members search
# only through the link's pages, so a revoked link leaves nothing searchable behind).
_VISIBLE = (
    "(m.author_id = :user OR :admin OR m.thread_id IN "
    "(SELECT tm.thread_id FROM thread_members AS tm "
    "WHERE tm.user_id = :user AND tm.via_link IS NULL))"
)

# The thread's title is its first titled message's, as on the thread page.
_COLUMNS = """s.message_id, s.start, m.title, m.kind, m.thread_id,
       u.display_name AS speaker_name, u.email AS speaker_email,
       (SELECT f.title FROM messages AS f WHERE f.thread_id = m.thread_id AND f.title != ''
        ORDER BY f.created_at, f.id LIMIT 1) AS thread_title"""
_FROM = """search_index AS s JOIN messages AS m ON m.id = s.message_id
     LEFT JOIN users AS u ON u.id = m.author_id"""

_SQLITE = f"""
SELECT {_COLUMNS},
       snippet(search_index, 3, '{_OPEN}', '{_CLOSE}', '…', 16) AS snippet
FROM {_FROM}
WHERE search_index MATCH :q AND {_VISIBLE}
ORDER BY rank LIMIT :limit
"""

_POSTGRES = f"""
SELECT {_COLUMNS},
       ts_headline(s.config, s.body, websearch_to_tsquery(s.config, :q),
                   'StartSel={_OPEN}, StopSel={_CLOSE}, MaxWords=24, MinWords=10') AS snippet
FROM {_FROM}
WHERE s.tsv @@ websearch_to_tsquery(s.config, :q) AND {_VISIBLE}
ORDER BY ts_rank(s.tsv, websearch_to_tsquery(s.config, :q)) DESC, s.start LIMIT :limit
"""


async def search(session: AsyncSession, user: User, query: str, limit: int = 50) -> list[Hit]:
    """Hits in the messages the user may see, best first."""
    sqlite = session.bind.dialect.name == "sqlite"
    q = fts5_query(query) if sqlite else query
    if not q.strip():
        return []
    params = {"q": q, "user": user.id, "admin": user.is_admin, "limit": limit}
    rows = await session.execute(text(_SQLITE if sqlite else _POSTGRES), params)
    return [
        Hit(
            message_id=row.message_id,
            title=row.title,
            kind=row.kind,
            start=float(row.start),
            snippet_html=highlight(row.snippet),
            thread_id=row.thread_id,
            thread_title=row.thread_title or "",
            # A display name, else the e-mail's part before "@" (as relay.thread_view names).
            speaker=names.name_of(row.speaker_name, row.speaker_email),
        )
        for row in rows
    ]
