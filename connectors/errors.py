"""Errors a connector raises; each carries a stable code and whether a later retry may help."""


class ConnectorError(Exception):
    """A call to a system failed.

    ``code`` is stable and short (``http_503``, ``timeout``, the target's own error
    name); ``retryable`` says whether the same call may succeed later without any
    change; ``retry_after`` is the wait in seconds the system asked for, if any.
    """

    def __init__(self, code: str, message: str, *, retryable=False, status: int | None = None, retry_after=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after

    def __str__(self):
        return f"{self.code}: {self.message}"


class AuthenticationFailed(ConnectorError):
    """The system refused the credentials."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__("authentication_failed", message, retryable=False, status=status)


class NotSupported(ConnectorError):
    """The connector's system cannot do what was asked (e.g. a webhook cannot be read from)."""

    def __init__(self, message: str):
        super().__init__("not_supported", message, retryable=False)
