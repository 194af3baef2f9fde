"""The client's errors.

ClientError
├── TransportError       the server could not be reached (after retries)
├── ProtocolError        the server answered, but not with what this API sends
└── ApiError             the server answered with an error status
    ├── AuthenticationError   401 or 403: the key was refused
    ├── InvalidRequest        400: a parameter or field was refused (see .parameter)
    └── PositionGone          410: a change token older than what the server keeps
"""

from __future__ import annotations

import httpx


class ClientError(Exception):
    """Base class of every error the client raises."""


class TransportError(ClientError):
    """The server could not be reached, or kept failing, after the retries."""


class ProtocolError(ClientError):
    """A success status whose body is not what this API sends (not JSON, fields missing)."""


class ApiError(ClientError):
    """The server answered with an error; ``code`` and ``parameter`` are its own."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status = response.status_code
        self.code = "unknown"
        self.parameter: str | None = None
        message = response.text[:200] or response.reason_phrase
        try:
            error = response.json().get("error", {})
            self.code = str(error.get("code", self.code))
            self.parameter = error.get("parameter")
            message = str(error.get("message", message))
        except (ValueError, AttributeError):
            pass
        self.message = message
        super().__init__(f"{self.status} {self.code}: {message}")


class AuthenticationError(ApiError):
    """401 or 403: the key is unknown, revoked, or lacks the scope."""


class InvalidRequest(ApiError):
    """400: the server refused a parameter or a body field (``parameter`` names it)."""


class PositionGone(ApiError):
    """410: the change token is older than the deletions the server keeps; start again."""


def error_for(response: httpx.Response) -> ApiError:
    if response.status_code in (401, 403):
        return AuthenticationError(response)
    if response.status_code == 400:
        return InvalidRequest(response)
    if response.status_code == 410:
        return PositionGone(response)
    return ApiError(response)
