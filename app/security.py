"""Password hashing (argon2id) and access tokens (JWT, HS256 only)."""

import time
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

JWT_ALGORITHM = "HS256"
MAX_ID = 2**31 - 1  # ids are 32-bit integer keys on every database
# Tokens whose signature this process has checked, with their claims and expiry: checking one
# (PyJWT) costs some 50 µs, on every request with a token. Emptied when full.
VERIFIED_TOKENS = 4096
_verified: dict[tuple[str, tuple[str, ...]], tuple[int, int, float]] = {}


def _password_hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["PASSWORD_HASH_TIME_COST"],
        memory_cost=config["PASSWORD_HASH_MEMORY_KIB"],
        parallelism=1,
    )


def normalized_password(password: str) -> str:
    """The form a password is hashed in: NFKC, so every way of typing it gives one hash."""
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (NFKC-normalised), salted, with the configured cost."""
    return _password_hasher().hash(normalized_password(password))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _password_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_matches(password_hash: str, password: str) -> bool:
    """Whether `password` is the one `password_hash` was made from."""
    normalized = normalized_password(password)
    if _verify(password_hash, normalized):
        return True
    # Hashes made before passwords were normalised hold the password exactly as typed.
    return normalized != password and _verify(password_hash, password)


@cache
def _dummy_hash(time_cost: int, memory_kib: int) -> str:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
    return hasher.hash("no account has this password")


def spend_password_check(password: str) -> None:
    """Spend the work of one password check for an account that does not exist, so an
    unknown email answers no faster than a wrong password (no account enumeration)."""
    config = current_app.config
    dummy = _dummy_hash(config["PASSWORD_HASH_TIME_COST"], config["PASSWORD_HASH_MEMORY_KIB"])
    _verify(dummy, normalized_password(password))


def issue_token(user_id: int, generation: int = 0) -> str:
    """A signed access token for `user_id` that expires after the configured lifetime.

    `generation` is the user's token generation: a token of an older one is refused, so
    raising it (password change, `manage.py revoke-tokens`) ends every earlier session."""
    now = datetime.now(UTC)
    lifetime = timedelta(seconds=current_app.config["JWT_LIFETIME_SECONDS"])
    claims = {"sub": str(user_id), "gen": generation, "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=JWT_ALGORITHM)


def read_token(token: str) -> tuple[int, int] | None:
    """The user id and token generation in a valid, unexpired token of ours; None for
    anything else (tokens from before generations existed are of generation 0).

    Signed with SECRET_KEY, or with one of SECRET_KEY_FALLBACKS (keys being rotated out). A
    token verified before is only checked for expiry (the signature and claims cannot change)."""
    config = current_app.config
    keys = (config["SECRET_KEY"], *config.get("SECRET_KEY_FALLBACKS", ()))
    verified = _verified.get((token, keys))
    if verified is None:
        verified = _verify_token(token, keys)
        if verified is None:
            return None  # not remembered: a token refused now (clock skew) may pass later
        if len(_verified) >= VERIFIED_TOKENS:
            _verified.clear()
        _verified[(token, keys)] = verified
    user_id, generation, expires_at = verified
    return (user_id, generation) if time.time() < expires_at else None


def _verify_token(token: str, keys: tuple[str, ...]) -> tuple[int, int, float] | None:
    """The user id, generation and expiry (epoch seconds) of a token valid now, else None."""
    for key in keys:
        try:
            claims = jwt.decode(
                token, key, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub"]}
            )
            user_id = int(claims["sub"])
            generation = claims.get("gen", 0)
            expires_at = float(claims["exp"])
        except jwt.InvalidSignatureError:
            continue
        except (jwt.InvalidTokenError, ValueError, TypeError):
            return None
        if not (0 < user_id <= MAX_ID) or type(generation) is not int:
            return None
        return user_id, generation, expires_at
    return None
