"""Per-account back-off for logins (API and pages alike): guessing one account's password gets
slower with every failure, but never locks its owner out for long.

Every attempt on an account name (known or not: the answer must not tell them apart) is counted
*before* the password is checked, in one atomic Redis step, so parallel guesses cannot slip past
the count; a successful login clears it. The first `LOGIN_FREE_FAILURES` (5) attempts are free;
each one after that locks the name for `LOGIN_BACKOFF_BASE` (2 s) doubling per further failure, at
most `LOGIN_BACKOFF_MAX` (300 s). While locked, attempts are refused at once (429 with
Retry-After) without looking at the password, and do not extend the lock. The count is forgotten
`LOGIN_FAILURE_WINDOW` (900 s) after the last attempt. So an attacker gets at most about a dozen
guesses an hour per account, and the owner waits at most 5 minutes. State lives in Redis, so
every web process agrees; if Redis is unreachable, logins are refused (503) rather than let
guesses through uncounted.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

import redis
from flask import current_app

from app.errors import AppError
from app.extensions import get_redis
from app.services.engine_config import setting

DEFAULTS: dict[str, Any] = {
    "LOGIN_FREE_FAILURES": 5,
    "LOGIN_BACKOFF_BASE": 2.0,
    "LOGIN_BACKOFF_MAX": 300.0,
    "LOGIN_FAILURE_WINDOW": 900,
}

# KEYS[1]: the account's hash {attempts, locked_until}. ARGV: now, free, base, max, window.
# Returns {0, attempts} when the attempt may go ahead, {1, seconds left} when locked.
_BEGIN = """
local now = tonumber(ARGV[1])
local locked = tonumber(redis.call('HGET', KEYS[1], 'locked_until') or '0')
-- (a millisecond of slack: the stored moment has Lua's precision)
if locked - now > 0.001 then return {1, string.format('%.6f', locked - now)} end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local over = attempts - tonumber(ARGV[2])
local delay = 0
if over > 0 then
  delay = math.min(tonumber(ARGV[3]) * 2 ^ (over - 1), tonumber(ARGV[4]))
  redis.call('HSET', KEYS[1], 'locked_until', string.format('%.6f', now + delay))
end
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[5]) + delay))
return {0, attempts}
"""


class LoginThrottled(AppError):
    """Too many failed logins for one account: try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("RATE_LIMIT_EXCEEDED",
                         f"Too many failed logins for this account. Try again in "
                         f"{_say_seconds(retry_after)}.",
                         {"retry_after": retry_after, "reason": "login_backoff"})
        self.retry_after = retry_after


def _say_seconds(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


def _key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"auth:login-failures:{digest}"


def begin_attempt(username: str) -> None:
    """Count an attempt on `username`, or raise LoginThrottled while it is locked (and
    SYSTEM_OVERLOADED when the count cannot be kept)."""
    script = current_app.extensions.get("login_throttle_script")
    if script is None:
        script = current_app.extensions["login_throttle_script"] = get_redis().register_script(
            _BEGIN)
    args = [time.time(), setting("LOGIN_FREE_FAILURES", DEFAULTS),
            setting("LOGIN_BACKOFF_BASE", DEFAULTS), setting("LOGIN_BACKOFF_MAX", DEFAULTS),
            setting("LOGIN_FAILURE_WINDOW", DEFAULTS)]
    try:
        locked, value = script(keys=[_key(username)], args=args)
    except redis.RedisError as exc:
        raise AppError("SYSTEM_OVERLOADED", "Logging in is unavailable for a moment (the "
                       "session store is not answering); try again shortly") from exc
    if int(locked):
        # Whole seconds (Retry-After), rounded to the millisecond first: the stored moment has
        # Lua's precision, a few microseconds off.
        raise LoginThrottled(max(math.ceil(round(float(value), 3)), 1))


def succeeded(username: str) -> None:
    """A correct password: the account's count starts again from zero."""
    try:
        get_redis().delete(_key(username))
    except redis.RedisError:
        return  # the count expires on its own
