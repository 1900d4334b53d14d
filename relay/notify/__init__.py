"""Telling people about new messages in their threads, without nagging them.

    a message becomes ready (text: at once) ─▶ ANNOUNCE job ─▶ one pending batch per person
                                                             and thread (or daily digest)
    the batch is due ─▶ NOTIFY job ─▶ unheard items by others? mail and push once : skip

batches.py holds the batches and what is new in them, mail.py writes the mail, smtp.py sends
it, words.py has the words in English and Dutch, unsubscribe.py the one-click tokens.
Web Push: subscriptions.py holds the browsers that asked for it, vapid.py the server's key
(made on first use, kept in the database), push.py the payload and the sending (pywebpush).
Batches are planned when there is SMTP or when another member has a browser subscribed.
"""
