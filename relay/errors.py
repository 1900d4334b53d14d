"""Errors a user can see. One handler renders them all as {"error": ..., "detail": ...}.

RelayError
 ├── BadRequest            400
 ├── Unauthorized          401
 ├── Forbidden             403  (also: CSRF token missing or wrong)
 ├── NotFound              404  (also used where "forbidden" would leak existence)
 ├── Conflict              409
 ├── Gone                  410
 ├── PreconditionFailed    412
 ├── PayloadTooLarge       413
 ├── UnsupportedMediaType  415
 ├── Locked                423
 ├── TooManyRequests       429
 ├── InternalError         500  (an unexpected exception; its detail stays in the log)
 ├── NotImplementedFormat  501
 ├── ServiceUnavailable    503
 └── InsufficientStorage   507
"""

from __future__ import annotations


class RelayError(Exception):
    """Base: an HTTP status, a short machine code and a sentence for people."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}

    def as_json(self) -> dict[str, str]:
        """The one body shape of every error answer."""
        return {"error": self.code, "detail": self.detail}


class BadRequest(RelayError):
    """The request is malformed."""


class Unauthorized(RelayError):
    """No valid credentials were given."""

    status, code = 401, "unauthorized"


class Forbidden(RelayError):
    """Credentials are valid but do not allow this."""

    status, code = 403, "forbidden"


class NotFound(RelayError):
    """Nothing here that the caller may see."""

    status, code = 404, "not_found"


class Conflict(RelayError):
    """The request does not fit the current state (e.g. a wrong upload offset)."""

    status, code = 409, "conflict"


class Gone(RelayError):
    """It existed but has expired or been revoked."""

    status, code = 410, "gone"


class PreconditionFailed(RelayError):
    """A protocol version or precondition header is not supported."""

    status, code = 412, "precondition_failed"


class PayloadTooLarge(RelayError):
    """Over a configured size limit."""

    status, code = 413, "too_large"


class UnsupportedMediaType(RelayError):
    """The request body has the wrong content type."""

    status, code = 415, "unsupported_media_type"


class Locked(RelayError):
    """Another request is working on the same resource."""

    status, code = 423, "locked"


class TooManyRequests(RelayError):
    """The caller must wait before trying again (guessing a passcode, say)."""

    status, code = 429, "too_many_requests"


class InternalError(RelayError):
    """A bug or an outage that nothing above caught."""

    status, code = 500, "internal_error"


class NotImplementedFormat(RelayError):
    """A format the server does not produce (oEmbed asks for 501)."""

    status, code = 501, "not_implemented"


class ServiceUnavailable(RelayError):
    """A dependency (database, storage) cannot be reached."""

    status, code = 503, "unavailable"


class InsufficientStorage(RelayError):
    """The server is short of disk space and takes no new bytes until some is freed."""

    status, code = 507, "insufficient_storage"
