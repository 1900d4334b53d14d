"""A batch's mail: a subject that names the thread and who replied, a text and an HTML part,
a link that opens the thread at the first unheard message, and one-click unsubscribe."""

from __future__ import annotations

import html
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

from relay.db import utcnow
from relay.humanize import clock
from relay.notify.batches import DIGEST, Item, Notification
from relay.notify.words import words

PREVIEW_CHARS = 200


def first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def subject(items: list[Item], w: dict[str, str], digest: bool) -> str:
    if digest:
        count = len(items)
        return w["digest_subject_one"] if count == 1 else w["digest_subject"].format(count=count)
    members = list(dict.fromkeys(first_name(i.author) for i in items if not i.guest))
    guests = len({i.author for i in items if i.guest})
    if guests:
        members.append(w["guests_one"] if guests == 1 else w["guests"].format(count=guests))
    title = items[0].thread_title or w["untitled"]
    if all(i.kind == "reaction" for i in items):
        return w["reacted"].format(name=members[0], title=title)
    if len(members) == 1:
        return w["one"].format(name=members[0], title=title)
    if len(members) == 2:
        return w["two"].format(first=members[0], second=members[1], title=title)
    return w["more"].format(first=members[0], count=len(members) - 1, title=title)


def what(item: Item, w: dict[str, str]) -> tuple[str, str]:
    """A line that says what the message is, and its first words."""
    if item.kind == "reaction":
        return w["reaction"].format(emoji=item.text), ""
    kind = "" if item.kind == "text" else w[item.kind].format(duration=clock(item.duration))
    text = " ".join(item.text.split())
    if len(text) > PREVIEW_CHARS:
        text = text[:PREVIEW_CHARS].rsplit(" ", 1)[0] + "…"
    if not text and item.kind != "text":
        text = w["no_transcript"]
    return kind, text


def compose(
    batch: Notification,
    items: list[Item],
    *,
    to: str,
    sender: str,
    lang: str | None,
    public_url: str,
    unsubscribe_url: str,
) -> EmailMessage:
    w = words(lang)
    digest = batch.scope == DIGEST
    base = public_url.rstrip("/")
    threads: dict[str, list[Item]] = {}
    for item in items:
        threads.setdefault(item.thread_id, []).append(item)
    text_lines = [w["digest_intro" if digest else "intro"], ""]
    html_parts = [f"<p>{html.escape(w['digest_intro' if digest else 'intro'])}</p>"]
    for thread_id, news in threads.items():
        link = f"{base}/t/{thread_id}#m-{news[0].message_id}"
        if digest:
            title = news[0].thread_title or w["untitled"]
            text_lines += [f"## {title}", ""]
            html_parts.append(
                f"<h2 style='font-size:16px;margin:20px 0 4px'>{html.escape(title)}</h2>"
            )
        for item in news:
            kind, text = what(item, w)
            who = f"{item.author} ({w['guest']})" if item.guest else item.author
            text_lines.append(f"{who}{' · ' + kind if kind else ''}")
            text_lines += [f"  {text}", ""]
            html_parts.append(
                "<p style='margin:12px 0'><strong>"
                f"{html.escape(who)}</strong>{html.escape(' · ' + kind) if kind else ''}<br>"
                f"<span style='color:#444'>{html.escape(text)}</span></p>"
            )
        text_lines += [f"{w['open']}: {link}", ""]
        html_parts.append(
            f"<p><a href='{html.escape(link)}' style='display:inline-block;padding:10px 16px;"
            "background:#0b5cad;color:#fff;border-radius:8px;text-decoration:none'>"
            f"{html.escape(w['open'])}</a></p>"
        )
    text_lines += ["-- ", w["why"], f"{w['stop']}: {unsubscribe_url}"]
    html_parts.append(
        f"<p style='color:#666;font-size:13px;margin-top:24px'>{html.escape(w['why'])}<br>"
        f"<a href='{html.escape(unsubscribe_url)}'>{html.escape(w['stop'])}</a></p>"
    )
    mail = EmailMessage()
    mail["Subject"] = subject(items, w, digest)
    mail["From"] = sender
    mail["To"] = to
    mail["Date"] = format_datetime(utcnow())
    # The batch's own id: a resend after a crash between "accepted" and "marked sent" has the
    # same Message-ID, which mail servers and clients treat as the same mail.
    mail["Message-ID"] = f"<{batch.id}@{urlsplit(base).hostname or 'relay'}>"
    mail["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content("\n".join(text_lines))
    body = "\n".join(html_parts)
    mail.add_alternative(
        f"<!doctype html><html lang='{lang or 'en'}'><body style='font-family:system-ui,"
        f"sans-serif;font-size:15px;line-height:1.5;color:#1a1a1a'>{body}</body></html>",
        subtype="html",
    )
    return mail


def test_mail(*, to: str, sender: str, lang: str | None) -> EmailMessage:
    w = words(lang)
    mail = EmailMessage()
    mail["Subject"] = w["test_subject"]
    mail["From"] = sender
    mail["To"] = to
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = make_msgid(domain="relay")
    mail.set_content(w["test_body"])
    return mail
