"""Email addresses: syntax check and normal form with email_validator.

The domain is lowercased and IDNA-normalised (returned in Unicode form by
default, ``"x@bücher.de"``; ``ascii_domain=True`` gives ``"x@xn--bcher-kva.de"``).
The local part is kept as typed: mail servers may treat it case-sensitively.
``email_match_key`` is the aggressive form for dedupe and blocking only.
No network access happens unless ``check_deliverability=True``.
"""

from __future__ import annotations

import re
import unicodedata

from crmcore.validation._common import WRONG_TYPE, fail, type_name

__all__ = ["email_match_key", "normalize_email"]

_MAX_INPUT = 512

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space, as typed with a
# Chinese or Japanese input method ("ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ").
_WIDTH_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_WIDTH_FOLD[0x3000] = 0x20
# Ideographic full stops are dots in a domain.
_DOMAIN_DOTS = str.maketrans({"。": ".", "｡": "."})

_GMAIL = frozenset({"gmail.com", "googlemail.com"})

# The common case, checked without email_validator (which costs ~100 us a call):
# a dot-atom local part and an LDH domain with an alphabetic TLD, plain ASCII,
# no "--" anywhere in the domain (IDNA and reserved labels), no special-use TLD.
# Anything else takes the full path; a property test checks both paths agree.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_SIMPLE = re.compile(rf"({_ATOM}(?:\.{_ATOM})*)@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")
_SPECIAL_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


def _fast(s: str) -> tuple[str, str] | None:
    """``(local, domain)`` for a plainly valid ASCII address, else None."""
    if len(s) > 254 or not s.isascii():
        return None
    m = _SIMPLE.fullmatch(s)
    if m is None:
        return None
    local, domain = m.group(1), m.group(2).lower()
    if len(local) > 64 or "--" in domain or domain.rsplit(".", 1)[1] in _SPECIAL_TLDS:
        return None
    return local, domain


def _prepare(text: str) -> str:
    if not text.isascii():
        text = text.translate(_WIDTH_FOLD)
        # drop zero-width and other format characters pasted in from documents
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
        at = text.rfind("@")
        if at >= 0:
            text = text[:at] + text[at:].translate(_DOMAIN_DOTS)
    return text.strip()


def normalize_email(
    text: str,
    *,
    check_deliverability: bool = False,
    lowercase_local: bool = False,
    ascii_domain: bool = False,
    field: str = "email",
) -> str:
    """Normalise an email address.

    Trims, folds full-width characters, lowercases and IDNA-normalises the
    domain, keeps the local part's case (unless ``lowercase_local``), keeps
    plus-addressing, and unquotes a quoted local part when quoting is not needed.

    Args:
        text: the address as typed.
        check_deliverability: also look up the domain's MX records (network).
        lowercase_local: lowercase the local part too.
        ascii_domain: return the domain in IDNA ASCII (``xn--``) form.
        field: field path used in errors.

    Returns:
        The normalised address.

    Raises:
        ValidationError: ``email_empty``, ``email_too_long``, ``email_invalid``,
            ``email_undeliverable`` or ``wrong_type``.
    """
    if not isinstance(text, str):
        fail(field, WRONG_TYPE, f"email address must be text, not {type_name(text)}")
    if len(text) > _MAX_INPUT:
        fail(field, "email_too_long", "email address is too long", text)
    s = _prepare(text)
    if not s:
        fail(field, "email_empty", "email address is empty", text)
    fast = None if check_deliverability else _fast(s)
    if fast is not None:
        return f"{fast[0].lower() if lowercase_local else fast[0]}@{fast[1]}"
    from email_validator import EmailUndeliverableError, validate_email

    try:
        v = validate_email(
            s,
            check_deliverability=check_deliverability,
            allow_quoted_local=True,
            allow_smtputf8=True,
            allow_display_name=False,
            allow_domain_literal=False,
        )
    except EmailUndeliverableError as exc:
        fail(field, "email_undeliverable", f"email domain does not accept mail: {exc}", text)
    except ValueError as exc:  # EmailSyntaxError, and UnicodeError from IDNA
        code = "email_too_long" if "too long" in str(exc) else "email_invalid"
        fail(field, code, f"not a valid email address: {exc}", text)
    local: str = v.local_part
    if lowercase_local:
        local = local.lower()
    domain: str = v.ascii_domain if ascii_domain else v.domain
    return f"{local}@{domain}"


def email_match_key(text: str, *, field: str = "email") -> str:
    """A key under which the same mailbox typed differently compares equal.

    Lowercases the whole address, drops a ``+tag`` from the local part and, for
    gmail.com/googlemail.com, drops dots and uses gmail.com. For dedupe and
    blocking only: never store it as the customer's address.

    Args:
        text: the address as typed.
        field: field path used in errors.

    Returns:
        The match key (itself a valid address).

    Raises:
        ValidationError: as :func:`normalize_email`.
    """
    email = normalize_email(text, field=field, lowercase_local=True)
    local, _, domain = email.rpartition("@")
    if not local.startswith('"'):
        base = local.split("+", 1)[0]
        if domain in _GMAIL:
            base = base.replace(".", "")
            domain = "gmail.com"
        base = base.strip(".")
        if base:
            local = base
    return f"{local}@{domain}"
