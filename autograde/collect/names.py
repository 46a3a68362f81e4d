"""Learner ids made from people's names, reproducibly, and the rule every learner id follows.

A learner id names a folder under `submitted/` and a student in nbgrader's gradebook, so it must be the same
however the name reached us: composed or decomposed Unicode (a Mac writes `é` as `e` + an accent), accents or
not, any script. `learner_id` folds compatibility forms (NFKC), case, and accents (NFKD, combining marks
dropped), then transliterates what is left to ASCII with anyascii (王芳 → `wangfang`, Иван Петров →
`ivan_petrov`), and joins the words with `_`: Éloïse Dupré → `eloise_dupre`. Folding makes different names
meet (Zoé and Zoë are both `zoe`): the caller refuses such collisions, it never merges them.
"""

import re
import unicodedata

from anyascii import anyascii

MAX_ID_LENGTH = 64
SAFE_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_ID_LENGTH - 1}}}")
SAFE_ID_RULE = (f"letters, digits, '_', '-' and '.', starting with a letter or a digit, at most {MAX_ID_LENGTH} "
                "characters, no '..'")


def nfc(text: str) -> str:
    """`text` in composed Unicode (NFC): how names are compared, whatever system wrote them."""
    return unicodedata.normalize("NFC", text)


def learner_id(name: str) -> str:
    """The learner id a name gives: `Éloïse Dupré` -> `eloise_dupre`; "" when nothing of it is a letter or digit."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", name).casefold())
    ascii_text = anyascii("".join(char for char in folded if not unicodedata.combining(char))).lower()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")[:MAX_ID_LENGTH].rstrip("_")


def name_key(name: str) -> str:
    """How two spellings of one name are recognised as the same: NFC, case folded, spaces collapsed."""
    return " ".join(nfc(name).casefold().split())


def is_safe_id(text: str) -> bool:
    """Whether `text` can name a learner's folder: SAFE_ID_RULE (no `/`, no `..`, no leading dot)."""
    return bool(SAFE_ID.fullmatch(text)) and ".." not in text


def squashed(name: str) -> str:
    """The name's id without separators (`Ada Lovelace` -> `adalovelace`), as Canvas writes names in files."""
    return learner_id(name).replace("_", "")
