"""Telling people about new messages in their threads, without nagging them.

    a message becomes ready (text: at once) ─▶ ANNOUNCE job ─▶ one pending batch per person
                                                             and thread (or daily digest)
    the batch is due ─▶ NOTIFY job ─▶ unheard items by others? mail once : skip

batches.py holds the batches and what is new in them, mail.py writes the mail, smtp.py sends
it, words.py has the words in English and Dutch, unsubscribe.py the one-click tokens.
"""
