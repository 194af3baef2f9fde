"""The errors sharelog answers with, one class per contract ``code``.

    SharelogError               (500 internal)
    ├── InvalidParameter        400 invalid_parameter, names the parameter or field
    ├── Unauthorized            401 unauthorized
    ├── Forbidden               403 forbidden
    ├── NotFound                404 not_found
    ├── MethodNotAllowed        405 method_not_allowed
    ├── Gone                    410 gone, a change token older than what is kept
    ├── PayloadTooLarge         413 payload_too_large
    ├── RateLimited             429 rate_limited, carries Retry-After
    └── Unavailable             503 unavailable, carries Retry-After

Code anywhere below the HTTP layer raises these; one handler in
``sharelog.api.errors`` turns them into the contract's JSON body.
"""

from __future__ import annotations


class SharelogError(Exception):
    """Base class: an unexpected failure of the service itself."""

    status = 500
    code = "internal"

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter

    def body(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.parameter is not None:
            error["parameter"] = self.parameter
        return {"error": error}


class InvalidParameter(SharelogError):
    """A query parameter or a body field is not acceptable."""

    status = 400
    code = "invalid_parameter"

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}", parameter)


class Unauthorized(SharelogError):
    """No API key, an unknown key, or a revoked key."""

    status = 401
    code = "unauthorized"


class Forbidden(SharelogError):
    """The key is valid but its scope does not allow this request."""

    status = 403
    code = "forbidden"


class NotFound(SharelogError):
    """No such route, or no such object in the key's account."""

    status = 404
    code = "not_found"


class MethodNotAllowed(SharelogError):
    """The route exists but not with this HTTP method."""

    status = 405
    code = "method_not_allowed"


class Gone(SharelogError):
    """A change-feed position older than the deletions the server still keeps."""

    status = 410
    code = "gone"


class PayloadTooLarge(SharelogError):
    """The request body is larger than the server accepts."""

    status = 413
    code = "payload_too_large"


class RateLimited(SharelogError):
    """Too many requests; retry after ``retry_after`` seconds."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(SharelogError):
    """The database cannot be reached, or is too busy right now; retry after ``retry_after``."""

    status = 503
    code = "unavailable"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after
