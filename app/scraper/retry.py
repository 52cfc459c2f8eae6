"""Retries for Wayback requests: exponential backoff that honours Retry-After.

The original made 5 attempts with exponential backoff and waited for Retry-After on 429;
the Wayback servers also answer 413, 421 and 5xx when overloaded, and reset connections.
"""

from __future__ import annotations

import email.utils
import logging
import time
from dataclasses import dataclass

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

MAX_ATTEMPTS = 5
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 30.0
# A server asking for longer than this is not waited for beyond it: a task has a time limit.
RETRY_AFTER_MAX_S = 120.0
RETRYABLE_STATUSES = frozenset({413, 421, 429})

logger = logging.getLogger(__name__)


class RetryableStatusError(Exception):
    """The server answered with a status worth another attempt."""

    def __init__(self, url: str, status: int, retry_after_s: float | None) -> None:
        super().__init__(f"{url} answered {status}")
        self.status = status
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry; tests shrink the waits."""

    attempts: int = MAX_ATTEMPTS
    base_s: float = BACKOFF_BASE_S
    max_s: float = BACKOFF_MAX_S


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or 500 <= status < 600


def retry_after_s(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait: Retry-After as seconds or as an HTTP date."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def raise_for_retryable(response: httpx.Response) -> None:
    """Turn a retryable status into an exception the retry loop recognises."""
    if is_retryable_status(response.status_code):
        raise RetryableStatusError(
            str(response.request.url), response.status_code, retry_after_s(response)
        )


def _is_transient(error: BaseException) -> bool:
    # TransportError covers connection resets, refused connections, timeouts and bodies cut
    # short (RemoteProtocolError): all worth another attempt.
    return isinstance(error, RetryableStatusError | httpx.TransportError)


def attempts(policy: RetryPolicy) -> AsyncRetrying:
    """`async for attempt in attempts(policy): with attempt: ...` retries transient failures.

    The last failure is re-raised unchanged, so callers can record its reason.
    """
    backoff = wait_exponential(multiplier=policy.base_s, max=policy.max_s)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableStatusError) and error.retry_after_s is not None:
            return min(error.retry_after_s, RETRY_AFTER_MAX_S)
        return float(backoff(state))

    def log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.info("attempt %d failed (%s); retrying", state.attempt_number, error)

    return AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        retry=retry_if_exception(_is_transient),
        before_sleep=log_retry,
        reraise=True,
    )
