"""The password policy (NIST SP 800-63B): long enough, not too long, not a common password.

No composition rules: any Unicode goes, compared and hashed NFKC-normalised. The list of
common passwords is Django's `common-passwords.txt.gz` (the 20,000 most common passwords of
Royce Williams' list, lowercased and deduplicated; BSD licence), shipped beside this module.
"""

import gzip
from functools import cache
from pathlib import Path

from flask import current_app
from marshmallow import ValidationError

from app.security import normalized_password

PASSWORD_MAX_LENGTH = 256
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt.gz")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lowercased."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def validate_password(password: str) -> None:
    """Refuse (ValidationError) a password the policy does not accept, saying why."""
    normalized = normalized_password(password)
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(normalized) < minimum:
        raise ValidationError(f"must be at least {minimum} characters")
    if len(normalized) > PASSWORD_MAX_LENGTH:
        raise ValidationError(f"must be at most {PASSWORD_MAX_LENGTH} characters")
    if not normalized.strip():
        raise ValidationError("must not be only spaces")
    if normalized.lower() in common_passwords() or normalized.strip().lower() in common_passwords():
        raise ValidationError("is too common: choose one that is not on lists of leaked passwords")
