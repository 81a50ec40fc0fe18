"""Personal names: cleaning, recasing, family/given split and match keys.

Rules, in order: NFKC (folds full-width), control characters dropped,
whitespace collapsed; spaces between two Han (or two Hangul) characters are
removed ("张 伟" -> "张伟"); dots between Han characters become "·". A Latin
(or Cyrillic, Greek...) name typed all upper or all lower case is recased;
a mixed-case name is kept as typed, because the user knows best.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from enum import Enum

import attrs

from crmcore.validation._common import WRONG_TYPE, clean_text, fail, strip_accents, type_name
from crmcore.validation._surnames import (
    compound_han_surnames,
    compound_hangul_surnames,
    latin_particles,
    pinyin_surnames,
    surname_pinyin_overrides,
)

__all__ = [
    "NameScript",
    "PersonNameParts",
    "name_match_key",
    "name_script",
    "normalize_name",
    "split_name",
]

_MAX_INPUT = 2000
_MAX_NAME = 200

_HAN = (
    "\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\U00030000-\U000323af"
)
_HANGUL = "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7a3\ud7b0-\ud7ff"
_KEY_SPLIT_RE = re.compile(r"[\s·・,;/()\[\]]+")
_KEY_DROP_RE = re.compile(r"[-‐‑'’ʼ`´.\"]")
_ROMAN = frozenset({"ii", "iii", "iv", "vi", "vii", "viii", "ix"})
_SUFFIXES = _ROMAN | {"jr", "jr.", "sr", "sr.", "jnr", "snr"}
# Letters that do not decompose under NFKD.
_FOLD = str.maketrans({"ø": "o", "đ": "d", "ł": "l", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe"})


@functools.cache
def _cjk_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(space between Han/Hangul, dot between Han), compiled on first use."""
    space = re.compile(f"(?<=[{_HAN}]) (?=[{_HAN}])|(?<=[{_HANGUL}]) (?=[{_HANGUL}])")
    dot = re.compile(f"(?<=[{_HAN}]) ?[.•‧・·∙⋅] ?(?=[{_HAN}])")
    return space, dot


class NameScript(str, Enum):
    """The writing system a name is in."""

    LATIN = "latin"
    HAN = "han"
    KANA = "kana"
    HANGUL = "hangul"
    CYRILLIC = "cyrillic"
    OTHER = "other"
    MIXED = "mixed"


@attrs.frozen
class PersonNameParts:
    """A name split into family and given parts.

    Attributes:
        family: the family name (surname), ``""`` if it cannot be told.
        given: the given name(s), ``""`` if none.
        script: the writing system of the name.
    """

    family: str
    given: str
    script: NameScript


def _char_script(cp: int) -> str | None:
    if cp < 0x2B0 or 0x1D00 <= cp <= 0x1DBF or 0x1E00 <= cp <= 0x1EFF:
        return "latin"
    if 0x2C60 <= cp <= 0x2C7F or 0xA720 <= cp <= 0xA7FF or 0xAB30 <= cp <= 0xAB6F:
        return "latin"
    if 0x3400 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x323AF:
        return "han"
    if cp in (0x3005, 0x3007):
        return "han"
    if 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0x1B000 <= cp <= 0x1B16F:
        return "kana"
    if 0xAC00 <= cp <= 0xD7A3 or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F:
        return "hangul"
    if 0xA960 <= cp <= 0xA97F or 0xD7B0 <= cp <= 0xD7FF:
        return "hangul"
    if 0x400 <= cp <= 0x52F or 0x1C80 <= cp <= 0x1C8F or 0x2DE0 <= cp <= 0x2DFF:
        return "cyrillic"
    if 0xA640 <= cp <= 0xA69F:
        return "cyrillic"
    return "other"


def name_script(text: str) -> NameScript:
    """The writing system of a (cleaned) name, judged by its letters.

    Han with kana is Japanese (``KANA``); Latin with Han is ``MIXED``.
    """
    seen: set[str] = set()
    for ch in text:
        if ch.isalpha():
            script = _char_script(ord(ch))
            if script is not None:
                seen.add(script)
    if not seen:
        return NameScript.OTHER
    if "kana" in seen and seen <= {"kana", "han"}:
        return NameScript.KANA
    if len(seen) == 1:
        return NameScript(seen.pop())
    return NameScript.MIXED


def _cap(word: str) -> str:
    """First letter upper (title) case, the rest lower case."""
    for i, ch in enumerate(word):
        if ch.isalpha():
            return word[:i] + ch.title() + word[i + 1 :].lower()
    return word.lower()


def _cap_part(part: str) -> str:
    low = part.lower()
    if len(low) > 2 and low.startswith("mc") and low[2].isalpha():
        return "Mc" + _cap(part[2:])
    if len(low) > 2 and low[:2] in ("o'", "o’") and low[2].isalpha():
        return "O'" + _cap(part[2:])
    return _cap(part)


def _recase(name: str) -> str:
    tokens = name.split(" ")
    particles = latin_particles()
    pinyin_first = tokens[0].lower() in pinyin_surnames()
    out: list[str] = []
    last = len(tokens) - 1
    for i, token in enumerate(tokens):
        low = token.lower()
        if 0 < i < last and low in particles and not pinyin_first:
            out.append(low)
        elif i > 0 and low in _ROMAN:
            out.append(token.upper())
        else:
            out.append("-".join(_cap_part(p) for p in token.split("-")))
    return " ".join(out)


def _normalize_once(s: str) -> str:
    s = clean_text(s)
    if not s.isascii():
        space, dot = _cjk_patterns()
        s = dot.sub("·", s)
        s = space.sub("", s)
    upper, lower = s.upper(), s.lower()
    if upper != lower and s in (upper, lower):
        s = _recase(s)
    return s


def normalize_name(text: str, *, field: str = "name") -> str:
    """Normalise a person's (or an organisation's) name.

    Args:
        text: the name as typed.
        field: field path used in errors.

    Returns:
        The cleaned name: NFKC, whitespace collapsed, CJK kept as written
        without inner spaces, all-upper/all-lower Latin names recased
        ("o'brien" -> "O'Brien", "MCDONALD" -> "McDonald",
        "ludwig van beethoven" -> "Ludwig van Beethoven").

    Raises:
        ValidationError: ``name_empty``, ``name_too_long``, ``name_invalid``
            (no letter at all) or ``wrong_type``.
    """
    if not isinstance(text, str):
        fail(field, WRONG_TYPE, f"name must be text, not {type_name(text)}")
    if len(text) > _MAX_INPUT:
        fail(field, "name_too_long", f"name is longer than {_MAX_NAME} characters", text)
    s = _normalize_once(text)
    if not s.isascii():
        # Exotic case mappings (ǅ, İ, ß...) can need another pass to settle;
        # iterate to a fixed point so that normalisation is idempotent.
        for _ in range(4):
            again = _normalize_once(s)
            if again == s:
                break
            s = again
    if not s:
        fail(field, "name_empty", "name is empty", text)
    if len(s) > _MAX_NAME:
        fail(field, "name_too_long", f"name is longer than {_MAX_NAME} characters", text)
    if not any(ch.isalpha() for ch in s):
        fail(field, "name_invalid", "name has no letters", text)
    return s


def _split_han(name: str) -> tuple[str, str]:
    if "·" in name:
        given, _, family = name.rpartition("·")
        return family, given
    if len(name) >= 2 and name[:2] in compound_han_surnames():
        return name[:2], name[2:]
    # A single-character surname: the common ones are listed, and a rare one is
    # still most likely a single character.
    return name[:1], name[1:]


def split_name(text: str, *, field: str = "name") -> PersonNameParts:
    """Split a name into family and given parts.

    Chinese names: family first, compound surnames (欧阳, 司马, 诸葛...) recognised,
    otherwise the first character; "约翰·史密斯" is given·family. Korean: family
    first (남궁...). Japanese: the first word when spaced. Latin and other
    scripts: "Family, Given" when there is a comma, else the last word (with
    particles: "van der Berg") is the family name. A single word is the given
    name (a single Han character is a family name).

    Args:
        text: the name as typed.
        field: field path used in errors.

    Returns:
        A :class:`PersonNameParts`.

    Raises:
        ValidationError: as :func:`normalize_name`.
    """
    name = normalize_name(text, field=field)
    script = name_script(name)
    if script is NameScript.HAN and " " not in name:
        family, given = _split_han(name)
        return PersonNameParts(family, given, script)
    if script is NameScript.HANGUL and " " not in name:
        cut = 2 if name[:2] in compound_hangul_surnames() and len(name) > 2 else 1
        return PersonNameParts(name[:cut], name[cut:], script)
    if script in (NameScript.HAN, NameScript.HANGUL, NameScript.KANA):
        if "・" in name or "·" in name:
            given, _, family = name.replace("・", "·").rpartition("·")
            return PersonNameParts(family.strip(), given.strip(), script)
        if " " in name:
            family, _, given = name.partition(" ")
            return PersonNameParts(family, given, script)
        return PersonNameParts("", name, script)
    if "," in name:
        family, _, given = name.partition(",")
        return PersonNameParts(family.strip(), given.strip(), script)
    tokens = name.split(" ")
    if len(tokens) == 1:
        return PersonNameParts("", name, script)
    start = len(tokens) - 1
    if start > 1 and tokens[start].lower() in _SUFFIXES:
        start -= 1  # "John Smith Jr." -> family "Smith Jr."
    if tokens[0].lower() not in pinyin_surnames():
        particles = latin_particles()
        while start > 1 and tokens[start - 1].lower() in particles:
            start -= 1
    return PersonNameParts(" ".join(tokens[start:]), " ".join(tokens[:start]), script)


@functools.lru_cache(maxsize=16384)
def _pinyin(text: str, *, surname: bool = False) -> str:
    # memoised: a few thousand given names and surnames cover millions of records
    if surname:
        override = surname_pinyin_overrides().get(text)
        if override is not None:
            return override
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(text, style=Style.NORMAL, v_to_u=True, errors="default"))


def _key_word(token: str) -> str:
    token = token.casefold()
    if not any(0x3040 <= ord(ch) <= 0x30FF for ch in token):  # kana marks are not accents
        token = strip_accents(token).translate(_FOLD)
    return _KEY_DROP_RE.sub("", unicodedata.normalize("NFC", token))


def name_match_key(text: str, *, field: str = "name") -> str:
    """A key under which the same name written differently compares equal.

    Casefolds, strips accents, turns Han into toneless pinyin (surname readings
    such as 单 -> shan, 曾 -> zeng), joins each part's syllables, and sorts the
    words: "张伟", "Zhang Wei" and "WEI ZHANG" all give ``"wei zhang"``.

    Args:
        text: the name as typed.
        field: field path used in errors.

    Returns:
        The key: lowercase ASCII-ish words sorted and joined by one space.

    Raises:
        ValidationError: as :func:`normalize_name`.
    """
    name = normalize_name(text, field=field)
    script = name_script(name)
    words: list[str]
    if script is NameScript.HAN and " " not in name:
        family, given = _split_han(name)
        words = []
        if family:
            words.append(_pinyin(family, surname=True))
        words.extend(_pinyin(part) for part in given.split("·") if part)
    else:
        words = []
        for token in _KEY_SPLIT_RE.split(name):
            if not token:
                continue
            if any(_char_script(ord(ch)) == "han" for ch in token):
                token = _pinyin(token)
            words.append(token)
    keys = sorted(k for k in (_key_word(w) for w in words) if k)
    return " ".join(keys)
