"""One error tree for all of keepdown.

Every error keepdown raises on purpose derives from :class:`KeepdownError`. Each class knows
the HTTP status the API answers with and the exit code the CLI ends with, so the two edges
translate errors in one place each (``api`` and ``cli``) and never guess. Third-party errors are
wrapped where they enter (``raise DecodeError(...) from exc``) so callers catch ours only.

The tree::

    KeepdownError                          500  exit 70 (EX_SOFTWARE)
    ├── InvalidInput                       400  exit 65 (EX_DATAERR)
    │   ├── InvalidHash                    400
    │   ├── DecodeError                    422
    │   │   └── ImageTooLarge              413
    │   ├── InputTooLarge                  413
    │   ├── ImportFormatError              400
    │   ├── SignatureError                 400
    │   └── VerificationFailed             422  (the event chain or a signed report does not verify)
    ├── UsageError                         400  exit 64 (EX_USAGE)
    │   └── MethodNotAllowed               405  (an API path called with the wrong HTTP method)
    ├── NotFound                           404  exit 66 (EX_NOINPUT)
    ├── Conflict                           409  exit 65
    ├── AuthError                          401  exit 77 (EX_NOPERM)
    │   └── Forbidden                      403
    ├── RateLimited                        429  exit 75 (EX_TEMPFAIL)
    ├── FetchError                         502  exit 69 (EX_UNAVAILABLE)
    │   ├── BlockedAddress                 403  (SSRF guard refused an address)
    │   └── RobotsDisallowed               403  (robots.txt forbids the URL)
    ├── DeliveryError                      502  exit 69 (a notice could not be delivered)
    ├── ExchangeError                      502  exit 69 (a hash exchange refused or failed)
    ├── FilingError                        502  exit 69 (NCMEC or the EU database refused or failed)
    ├── StorageError                       503  exit 74 (EX_IOERR)
    │   └── IndexFileError                 503  (a saved match index is missing or damaged)
    ├── Overloaded                         503  exit 75 (busy: retry after ``retry_after``)
    └── ConfigurationError                 500  exit 78 (EX_CONFIG)

Exit codes follow BSD ``sysexits.h`` so shell scripts can tell bad data from a bad setting.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AuthError",
    "BlockedAddress",
    "ConfigurationError",
    "Conflict",
    "DecodeError",
    "DeliveryError",
    "ExchangeError",
    "FetchError",
    "FilingError",
    "Forbidden",
    "ImageTooLarge",
    "ImportFormatError",
    "IndexFileError",
    "InputTooLarge",
    "InvalidHash",
    "InvalidInput",
    "KeepdownError",
    "MethodNotAllowed",
    "NotFound",
    "Overloaded",
    "RateLimited",
    "RobotsDisallowed",
    "SignatureError",
    "StorageError",
    "UsageError",
    "VerificationFailed",
]


class KeepdownError(Exception):
    """Root of every error keepdown raises on purpose.

    ``code`` is a stable machine-readable name (used in JSON error bodies); ``details`` carries
    structured context that is safe to show to the caller (never a secret, never media).
    """

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 70
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The one JSON error shape used by every API response and ``--format json`` output."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(KeepdownError):
    """The caller gave us something we cannot use; nothing was changed."""

    http_status = 400
    exit_code = 65
    code = "invalid_input"


class InvalidHash(InvalidInput):
    """A hash value has the wrong length, characters or signal type."""

    code = "invalid_hash"


class DecodeError(InvalidInput):
    """Media bytes could not be decoded (corrupt, truncated, unsupported format)."""

    http_status = 422
    code = "decode_error"


class ImageTooLarge(DecodeError):
    """An image exceeds the pixel or byte limit (decompression bombs end here)."""

    http_status = 413
    code = "image_too_large"


class InputTooLarge(InvalidInput):
    """An upload, response or file exceeds a configured size limit."""

    http_status = 413
    code = "input_too_large"


class ImportFormatError(InvalidInput):
    """A bank import file has invalid lines; ``details['errors']`` lists them by line number."""

    code = "import_format_error"


class SignatureError(InvalidInput):
    """A signed export does not verify against the given public key."""

    code = "signature_error"


class VerificationFailed(InvalidInput):
    """Evidence does not verify: the event chain breaks, or a report's figures or signature
    do not match; ``details`` says where (``keepdown verify events``, ``report verify``)."""

    http_status = 422
    code = "verification_failed"


class UsageError(KeepdownError):
    """A command or request was called the wrong way (missing option, bad combination)."""

    http_status = 400
    exit_code = 64
    code = "usage_error"


class MethodNotAllowed(UsageError):
    """An API path exists but not for this HTTP method."""

    http_status = 405
    code = "method_not_allowed"


class NotFound(KeepdownError):
    """The named object (bank, entry, file, notice...) does not exist."""

    http_status = 404
    exit_code = 66
    code = "not_found"


class Conflict(KeepdownError):
    """The request conflicts with the current state (a duplicate name, a state transition)."""

    http_status = 409
    exit_code = 65
    code = "conflict"


class AuthError(KeepdownError):
    """No valid credentials: missing, wrong, expired or revoked key."""

    http_status = 401
    exit_code = 77
    code = "unauthenticated"


class Forbidden(AuthError):
    """Valid credentials whose role may not do this."""

    http_status = 403
    code = "forbidden"


class RateLimited(KeepdownError):
    """Too many requests for this key; retry later."""

    http_status = 429
    exit_code = 75
    code = "rate_limited"


class Overloaded(KeepdownError):
    """This process is at a capacity limit (the picture-decoding memory budget): the request
    is refused rather than queued without end; retry after ``retry_after`` seconds."""

    http_status = 503
    exit_code = 75
    code = "overloaded"


class FetchError(KeepdownError):
    """A remote host could not be fetched (unreachable, timeout, bad response)."""

    http_status = 502
    exit_code = 69
    code = "fetch_error"


class BlockedAddress(FetchError):
    """The SSRF guard refused an address (private, loopback, link-local, reserved...)."""

    http_status = 403
    code = "blocked_address"


class RobotsDisallowed(FetchError):
    """robots.txt forbids the URL to keepdown's user agent (or could not be read: RFC 9309)."""

    http_status = 403
    code = "robots_disallowed"


class DeliveryError(KeepdownError):
    """A notice could not be delivered (SMTP or webhook). ``details['permanent']`` says
    whether retrying can help; ``details['uncertain']`` that it may have been delivered."""

    http_status = 502
    exit_code = 69
    code = "delivery_error"


class ExchangeError(KeepdownError):
    """A hash exchange (NCMEC, StopNCII, ThreatExchange, a peer keepdown) failed or refused a
    request. ``details['status']`` is the HTTP status when there was one;
    ``details['permanent']`` says whether retrying can help (a refused credential, a request
    the exchange calls malformed) or not (a timeout, a 503)."""

    http_status = 502
    exit_code = 69
    code = "exchange_error"


class FilingError(KeepdownError):
    """A regulator's or clearing house's service (NCMEC's reporting service, the DSA
    Transparency Database) refused a record or could not be reached. ``details`` says
    ``permanent`` (sending it again cannot help), the service's own ``service_code`` and the
    HTTP ``status``."""

    http_status = 502
    exit_code = 69
    code = "filing_error"


class StorageError(KeepdownError):
    """The database could not be reached or refused an operation."""

    http_status = 503
    exit_code = 74
    code = "storage_error"


class IndexFileError(StorageError):
    """A saved match index is missing, truncated, damaged or in an unknown format."""

    code = "index_file_error"


class ConfigurationError(KeepdownError):
    """A setting is missing or invalid."""

    http_status = 500
    exit_code = 78
    code = "configuration_error"
