"""One exception family for everything the provider can answer or fail with."""


class ProviderError(Exception):
    """Base class. `message` is safe to show to a user; `retry_safe` says whether the
    same call may be repeated unchanged (for a submit: only with the same Idempotency-Key)."""

    status = None
    retry_safe = False
    default_message = "The provider returned an error."

    def __init__(self, message=None, *, status=None, detail=None, field_errors=None,
                 retry_after=None, correlation_id=None):
        self.message = message or self.default_message
        if status is not None:
            self.status = status
        self.detail = detail
        self.field_errors = field_errors or {}
        self.retry_after = retry_after
        self.correlation_id = correlation_id
        super().__init__(self.message)


class NetworkError(ProviderError):
    retry_safe = True
    default_message = "Could not reach the provider (network error or timeout)."


class ConnectFailed(NetworkError):
    """The connection was refused or never made: nothing was sent, so even a submit without an
    idempotency key may be sent again."""

    default_message = "Could not connect to the provider; nothing was sent."


class BadRequest(ProviderError):
    status = 400
    default_message = "The provider rejected the request."


class ConcurrencyLimit(BadRequest):
    """400 "Maximum number of concurrent requests": wait for a slot, then try again."""

    retry_safe = True
    default_message = "The provider account is running as many jobs as it allows; this one waits its turn."


class CancelRejected(BadRequest):
    default_message = "The job has already started, so the provider can no longer cancel it."


class AuthError(ProviderError):
    status = 401
    default_message = "The provider did not accept the API credentials. An admin needs to check the key."


class NotEnoughCredits(ProviderError):
    status = 403
    default_message = "The provider account has not enough credits for this job."


class Forbidden(ProviderError):
    status = 403
    default_message = "The provider refused access (403)."


class NotFound(ProviderError):
    status = 404
    default_message = "The provider does not know this model or request on this account."


class ModeUnavailable(ProviderError):
    status = 409
    default_message = "This model mode is not available."


class ValidationFailed(ProviderError):
    status = 422
    default_message = "The provider rejected some parameters."


class ModelBlocked(ProviderError):
    status = 423
    retry_safe = True
    default_message = "This model is temporarily blocked by the provider. Try again later."


class RateLimited(ProviderError):
    status = 429
    retry_safe = True
    default_message = "The provider asked us to slow down; the job will be retried."


class QueueFull(RateLimited):
    """429 `account_queue_full`: the account's wait queue is full; nothing was created or charged."""

    default_message = "The provider account's queue is full; the job will be retried."

    def __init__(self, message=None, *, limit=None, **kwargs):
        self.limit = limit
        super().__init__(message, **kwargs)


class ServerError(ProviderError):
    status = 500
    retry_safe = True
    default_message = "The provider had an internal error."


class Unavailable(ServerError):
    status = 503
    default_message = "The model is disabled or not ready at the provider."


class DownloadRefused(ProviderError):
    """An output URL failed our SSRF, size or content checks."""

    default_message = "The output file could not be fetched safely."
