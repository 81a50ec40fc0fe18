"""Common English given-name nicknames mapped to one canonical form."""

from __future__ import annotations

__all__ = ["NICKNAMES", "canonical_token"]

_GROUPS: dict[str, tuple[str, ...]] = {
    "alexander": ("alex", "alec", "sandy", "xander", "lex"),
    "alexandra": ("alex", "alexa", "sandra", "lexi", "lexie"),
    "andrew": ("andy", "drew"),
    "anthony": ("tony", "ant"),
    "benjamin": ("ben", "benny", "benji"),
    "catherine": ("cathy", "kate", "katie", "cat", "kathy", "katherine", "kathryn"),
    "charles": ("charlie", "chuck", "chas"),
    "christopher": ("chris", "kit", "topher"),
    "christine": ("chris", "chrissy", "tina", "christina"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davy"),
    "deborah": ("debbie", "deb", "debra"),
    "dorothy": ("dot", "dottie", "dolly"),
    "edward": ("ed", "eddie", "ted", "teddy", "ned"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "eliza", "libby", "bess", "lisa"),
    "eleanor": ("ellie", "nora", "elle"),
    "frederick": ("fred", "freddie", "freddy"),
    "gregory": ("greg",),
    "harold": ("harry", "hal"),
    "henry": ("hank", "harry", "hal"),
    "isabella": ("bella", "izzy", "isabel"),
    "jacob": ("jake",),
    "james": ("jim", "jimmy", "jamie"),
    "jennifer": ("jen", "jenny", "jenn"),
    "jessica": ("jess", "jessie"),
    "john": ("johnny", "jack", "jon"),
    "jonathan": ("jon", "jonny", "nathan"),
    "joseph": ("joe", "joey"),
    "joshua": ("josh",),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry", "laurie"),
    "margaret": ("maggie", "meg", "peggy", "marge", "madge", "greta"),
    "matthew": ("matt", "matty"),
    "michael": ("mike", "mikey", "mick", "mickey"),
    "nicholas": ("nick", "nicky", "nico"),
    "patricia": ("pat", "patty", "trish", "tricia"),
    "patrick": ("pat", "paddy"),
    "peter": ("pete",),
    "philip": ("phil", "pip"),
    "rebecca": ("becky", "becca"),
    "richard": ("rick", "ricky", "dick", "rich", "richie"),
    "robert": ("bob", "bobby", "rob", "robbie", "bert"),
    "ronald": ("ron", "ronnie"),
    "samuel": ("sam", "sammy"),
    "samantha": ("sam", "sammy"),
    "stephen": ("steve", "stevie", "steven"),
    "susan": ("sue", "susie", "suzy"),
    "theodore": ("theo", "ted", "teddy"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "tori", "vic"),
    "william": ("bill", "billy", "will", "willy", "liam"),
    "zachary": ("zach", "zack"),
}


def _build() -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical in sorted(_GROUPS):
        for nick in _GROUPS[canonical]:
            # an ambiguous nickname (chris, pat, sam, alex) keeps the first canonical
            table.setdefault(nick, canonical)
    return table


#: nickname -> canonical given name (``bob`` -> ``robert``).
NICKNAMES: dict[str, str] = _build()


def canonical_token(token: str) -> str:
    """The canonical given name for a (casefolded) token; the token itself if none."""
    return NICKNAMES.get(token, token)
