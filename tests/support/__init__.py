"""What the tests share, one module per subject: the access matrix's world (access), Chromium
(browser), storages (storage), generated media (media) and speech (speech), page checks
(pages), the recorder's stack (recorder), real relay processes (server), threads (threads)
and transcoding checks (transcode). Fixtures that every test may use live in tests/conftest.py."""
