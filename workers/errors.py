"""Errors raised by the workers.

    Retry                     a job handler asks to run the job again later
    JobFailed                 a job handler gives up for good; `reason` is for people

    MediaError                the media pipeline failed
    ├── MediaRejected         the upload can never be processed; `reason` is shown to its author
    └── FFmpegError           ffmpeg or ffprobe failed; may be transient, worth a retry
        └── FFmpegTimeout     the run exceeded its wall-clock budget and was killed

    TranscriptionError            transcription failed
    ├── TranscriptionUnavailable  no usable model is configured or installed, or its file
    │                             is damaged
    └── LanguageNotSupported      the model cannot transcribe the requested language

A bare `MediaError` means our own output failed verification: neither the author's fault
nor likely to pass on a retry.
"""

from __future__ import annotations

from pathlib import Path


class Retry(Exception):
    """Run the job again later; the reason goes to the job row only.

    When no attempt is left, people read the handler's `unexpected` sentence.
    """

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


class JobFailed(Exception):
    """A permanent failure: `reason` is a sentence people read (link visitors too);
    `detail` (exception text, ffmpeg's stderr) stays in the job row."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class MediaError(Exception):
    """The media pipeline failed."""


class MediaRejected(MediaError):
    """The upload is unusable; `reason` is a sentence for its author."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FFmpegError(MediaError):
    """ffmpeg or ffprobe exited with an error."""

    def __init__(self, argv: list[str], returncode: int | None, stderr_tail: str) -> None:
        self.argv = argv
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        super().__init__(self._message())

    def _message(self) -> str:
        lines = self.stderr_tail.strip().splitlines()
        last = f": {lines[-1]}" if lines else ""
        return f"{Path(self.argv[0]).name} exited with status {self.returncode}{last}"


class FFmpegTimeout(FFmpegError):
    """ffmpeg or ffprobe ran too long and was killed."""

    def _message(self) -> str:
        return f"{Path(self.argv[0]).name} ran too long and was killed"


class TranscriptionError(Exception):
    """Transcription failed."""


class TranscriptionUnavailable(TranscriptionError):
    """No usable Whisper model is configured or installed, or its file is damaged."""


class LanguageNotSupported(TranscriptionError):
    """The model cannot transcribe the requested language."""

    def __init__(self, model: str, language: str, message: str) -> None:
        super().__init__(message)
        self.model = model
        self.language = language
