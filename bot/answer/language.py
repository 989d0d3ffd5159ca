"""Which language a question is in, roughly: enough to tell "not English" apart.

The records and the default model are English. A question in another language
matches no record word and would get "I have no claim records about that",
which is wrong: the records may well hold the answer. So such a question gets
a reply naming the languages understood instead, unless the embedding model
is multilingual, when its vectors carry the question across.

Two signals, both general (nothing here knows a knowledge base): the script
of the letters (Cyrillic, Greek, Arabic, Hebrew, CJK, ...), and for Latin
script the most common function words of a few European languages.
"""

from __future__ import annotations

import re
import unicodedata

#: The most frequent function words; only words that are not English words too.
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "German": frozenset(
        "der das und ist nicht wann wer wie wo warum ein eine einen dem des mit "
        "von zu auf sich wurde wurden haben sind über nach auch oder aber welche".split()
    ),
    "French": frozenset(
        "le la les de est et qui quand où pourquoi une des du au aux pas que quoi dans sur "
        "avec pour sont été qu'est-ce ce cette ces quel quelle".split()
    ),
    "Spanish": frozenset(
        "el la los las es y se de qué quién cuándo dónde por una del al con para son fue fueron "
        "cuál cómo está están pero también esta este".split()
    ),
    "Portuguese": frozenset(
        "os é de se quem quando onde porque uma da dos das em com para são foi foram qual "
        "como está estão mas também esta este não".split()
    ),
    "Italian": frozenset(
        "il lo gli è chi quando dove perché una della delle dei con sono stato stata "
        "quale sta anche questa questo".split()
    ),
}
_ENGLISH = frozenset(
    "the a an is are was were what who when where why how which did does do of to in on "
    "for with and or not that this these those from by about has have had".split()
)
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")

#: Letter scripts, by the first word of their Unicode character names.
_SCRIPTS = {
    "CYRILLIC": "Russian or Ukrainian (Cyrillic script)",
    "GREEK": "Greek",
    "ARABIC": "Arabic script",
    "HEBREW": "Hebrew",
    "CJK": "Chinese or Japanese",
    "HIRAGANA": "Japanese",
    "KATAKANA": "Japanese",
    "HANGUL": "Korean",
    "DEVANAGARI": "Hindi (Devanagari script)",
    "THAI": "Thai",
    "ARMENIAN": "Armenian",
    "GEORGIAN": "Georgian",
}


def foreign_language(question: str) -> str | None:
    """The name of the language (or script) a question is written in, when it is
    plainly not English; None for English or when unsure."""
    if question.isascii():  # Basic Latin only: no script to count (the usual case)
        if not any(map(str.isalpha, question)):
            return None
    else:
        letters = [c for c in question if c.isalpha()]
        if not letters:
            return None
        scripts: dict[str, int] = {}
        for char in letters:
            if ord(char) < 0x250:  # Basic Latin to Latin Extended-B
                continue
            name = unicodedata.name(char, "").split(" ")[0]
            scripts[name] = scripts.get(name, 0) + 1
        if scripts:
            script, count = max(scripts.items(), key=lambda item: item[1])
            if count * 2 > len(letters) and script in _SCRIPTS:
                return _SCRIPTS[script]
    words = [w.lower() for w in _WORD.findall(question)]
    english = sum(map(_ENGLISH.__contains__, words))
    best, score = None, 0
    for language, function_words in _FUNCTION_WORDS.items():
        found = sum(map(function_words.__contains__, words))
        if found > score:
            best, score = language, found
    if best is not None and score >= 2 and score > english:
        return best
    return None
