"""Who a username or an email names: one normal form each, so look-alikes cannot pass as
another user.

Usernames are NFKC-normalised as typed; their key (unique in the database) is their casefolded
UTS #39-style skeleton: each character replaced by one representative of the characters it can
be confused with (the confusables data of Unicode, from the confusable-homoglyphs package), so
`Admin`, `ADMIN` in fullwidth letters and `admin` with a Cyrillic a all have the key of
`admin`. A name that mixes scripts in a confusable way is refused outright.

Emails are normalised once by email-validator: the domain lowercased and IDNA-encoded, the local
part NFC-normalised and lowercased (as every mail provider treats it), never stripped of
accents: `zoë@example.com` and `zoe@example.com` are two addresses.

Both packages are imported on first use (about 50 ms of CPU, their tables and regular
expressions), which processes that never check a name or an address (Celery workers,
commands) skip.
"""

import unicodedata
from functools import cache
from types import ModuleType


@cache
def _confusables() -> ModuleType:
    from confusable_homoglyphs import confusables

    return confusables


@cache
def _email_validator() -> ModuleType:
    import email_validator

    return email_validator


def normalized_username(username: str) -> str:
    """The form a username is stored and shown in: NFKC (fullwidth letters become ASCII)."""
    return unicodedata.normalize("NFKC", username)


@cache
def _prototypes() -> dict[str, str]:
    """Each confusable character's representative: the smallest of its group of look-alikes."""
    parent: dict[str, str] = {}

    def root(character: str) -> str:
        while parent.get(character, character) != character:
            character = parent[character]
        return character

    for character, entries in _confusables().confusables_data.items():
        for homoglyph in entries:
            other = homoglyph["c"].strip("\u200e")
            if len(character) != 1 or len(other) != 1:
                continue  # sequences ("rn" for "m") are left to the script check
            first, second = root(character), root(other)
            if first != second:
                parent[max(first, second)] = min(first, second)
    return {character: root(character) for character in parent}


def username_key(username: str) -> str:
    """What two usernames share when one could pass for the other (unique per user)."""
    folded = normalized_username(username).casefold()
    prototypes = _prototypes()
    skeleton = "".join(prototypes.get(character, character) for character in folded)
    return unicodedata.normalize("NFKC", skeleton).casefold()


def mixes_confusable_scripts(username: str) -> bool:
    """Whether `username` mixes scripts with characters that imitate another script's."""
    return bool(_confusables().is_dangerous(normalized_username(username)))


def normalized_email(email: str) -> str:
    """The one stored form of an address; ValueError when it is not a valid address."""
    validator = _email_validator()
    try:
        valid = validator.validate_email(email, check_deliverability=False)
    except validator.EmailNotValidError as error:
        raise ValueError(str(error)) from None
    local = unicodedata.normalize("NFC", valid.local_part).lower()
    return f"{local}@{valid.ascii_domain}"
