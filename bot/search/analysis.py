"""Text analysis shared by records and questions: words → search terms.

Both sides go through the same :class:`Analyzer`, so a question about a "UAV
plant in Moscow" meets a record about a "drone factory east of Moscow":

1. Unicode-aware word splitting that keeps numbers and hyphenated names
   (``Mohajer-6`` gives ``mohajer-6`` plus its parts ``mohajer`` and ``6``).
2. "US" / "U.S." (upper case only) become ``usa`` before lowercasing, so the
   country is not lost as the stop word "us".
3. Lowercasing, English stop words dropped, Snowball (Porter2) stemming.
4. Aliases from the knowledge base: every phrase of an alias group becomes the
   group's canonical term (longest phrase first).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain

import Stemmer

# Words too common to tell records apart. Question words (when, who, where,
# how) are here too: answer.py reads them from the raw question instead.
STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because
    been before being below between both but by can can't cannot could couldn't did didn't
    do does doesn't doing don't down during each few for from further get got had hadn't
    has hasn't have haven't having he he'd he'll he's her here here's hers herself him
    himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just
    let's me more most mustn't my myself no nor not of off on once only or other ought our
    ours ourselves out over own same shan't she she'd she'll she's should shouldn't so some
    such tell than that that's the their theirs them themselves then there there's these
    they they'd they'll they're they've this those through to too under until up us very
    was wasn't we we'd we'll we're we've were weren't what what's when when's where where's
    which while who who's whom why why's will with won't would wouldn't you you'd you'll
    you're you've your yours yourself yourselves
    please know anything something thing things say said says tell told ever yet
    many much first last every another whether within without upon among whose whatever
    however therefore thus hence may might must shall one's there's still even already
    getting gets become becoming became
    """.split()
)

# A word: letters/digits (any script), optionally joined by hyphens or
# apostrophes inside the word ("Mohajer-6", "Ukraine's").
WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
#: Words whose analysis is remembered (each a few dozen bytes).
MEMO_WORDS = 200_000
#: Short texts (names, tags, dates: they recur across records) whose terms are
#: remembered whole, and how many of them.
MEMO_TEXT_CHARS, MEMO_TEXTS = 64, 100_000

_US = re.compile(r"(?<![\w.])U\.?S\.?(?:A\.?)?(?![\w])")


def clean(text: str) -> str:
    # NFKC folds full-width and compatibility forms; control characters become
    # spaces so they can neither join nor hide words.
    text = unicodedata.normalize("NFKC", text)
    if text.isprintable():  # the common case, checked in C
        return text
    return "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)


#: For ASCII text: letters lowercased, digits, hyphens and apostrophes kept,
#: every other character a space.
_ASCII_WORDS = str.maketrans(
    {c: (chr(c).lower() if chr(c).isalnum() or chr(c) in "-'" else " ") for c in range(128)}
)


def words(text: str) -> list[str]:
    """Split text into lowercase words, keeping hyphenated names whole."""
    if text.isascii():
        # ASCII needs no normalising, a control character splits words as a
        # space would, and lowercasing the whole text first splits the same.
        if "US" in text or "U.S" in text:  # every match of _US holds one of them
            text = _US.sub(" usa ", text)
        # WORD's matches, three times faster: the runs of letters, digits,
        # hyphens and apostrophes; only a run holding a hyphen or an
        # apostrophe needs WORD to drop the ones that join no two words.
        runs = text.translate(_ASCII_WORDS).split()
        if "-" not in text and "'" not in text:
            return runs
        return [w for run in runs for w in ((run,) if run.isalnum() else WORD.findall(run))]
    text = _US.sub(" usa ", clean(text))
    return [w.lower().replace("’", "'") for w in WORD.findall(text)]


@dataclass
class Analyzer:
    """Turns text into search terms; built once per knowledge base (for its aliases)."""

    aliases: Sequence[Sequence[str]] = ()
    _stemmer: Stemmer.Stemmer = field(init=False, repr=False)
    _phrases: dict[tuple[str, ...], tuple[str, ...]] = field(init=False, repr=False)
    _starts: frozenset[str] = field(init=False, repr=False)
    _longest: int = field(init=False, repr=False)
    _memo: dict[str, tuple[str, ...]] = field(init=False, repr=False)
    _word_memo: dict[str, tuple[str, ...]] = field(init=False, repr=False)
    _text_memo: dict[str, tuple[str, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._memo = {}
        self._word_memo = {}
        self._text_memo = {}
        self._phrases = {}
        for group in self.aliases:
            canonical = self._plain(group[0])
            if not canonical:
                continue
            target = tuple(canonical)
            for phrase in group:
                stems = tuple(self._plain(phrase))
                if stems and stems != target:
                    self._phrases.setdefault(stems, target)
        self._longest = max((len(p) for p in self._phrases), default=1)
        self._starts = frozenset(p[0] for p in self._phrases)

    def _plain(self, text: str) -> list[str]:
        """Words → stems, no aliases; stop words kept out except inside names."""
        memo = self._memo
        split = words(text)
        found = list(map(memo.get, split))  # the loop in C; misses are rare
        if None in found:
            for i, analysed in enumerate(found):
                if analysed is None:
                    word = split[i]
                    found[i] = analysed = self._word(word)
                    if len(memo) < MEMO_WORDS:  # bounded: vocabularies can be huge
                        memo[word] = analysed
        return list(chain.from_iterable(found))  # type: ignore[arg-type]

    def seen_words(self) -> set[str] | None:
        """Every word analysed so far (None once there were too many to remember)."""
        return None if len(self._memo) >= MEMO_WORDS else set(self._memo)

    def _word(self, word: str) -> tuple[str, ...]:
        word = word.removesuffix("'s")
        if word in STOP_WORDS:
            return ()
        if "-" not in word:
            return (self._stem(word),)
        return (word, *(self._stem(p) for p in word.split("-") if p not in STOP_WORDS))

    def _stem(self, word: str) -> str:
        if "-" in word or word.isdigit():
            return word
        return str(self._stemmer.stemWord(word))

    def terms(self, text: str) -> list[str]:
        """The search terms of a text, in order, aliases mapped to canonical terms."""
        if len(text) > MEMO_TEXT_CHARS:
            return self._terms(text)
        found = self._text_memo.get(text)
        if found is None:
            found = tuple(self._terms(text))
            if len(self._text_memo) < MEMO_TEXTS:
                self._text_memo[text] = found
        return list(found)

    def _terms(self, text: str) -> list[str]:
        stems = self._plain(text)
        if not self._phrases:
            return stems
        starts = self._starts
        # Only positions where an alias phrase can begin need a look (list
        # comprehension: the per-word loop stays in C for the rest).
        candidates = [i for i, stem in enumerate(stems) if stem in starts]
        if not candidates:
            return stems
        out: list[str] = []
        done = 0
        for i in candidates:
            if i < done:  # inside a phrase already replaced
                continue
            for size in range(min(self._longest, len(stems) - i), 0, -1):
                target = self._phrases.get(tuple(stems[i : i + size]))
                if target is not None:
                    out.extend(stems[done:i])
                    out.extend(target)
                    done = i + size
                    break
        out.extend(stems[done:])
        return out

    def word_terms(self, word: str) -> tuple[str, ...]:
        """The terms of one word as it stands in a text (for marking matches).

        Single-word aliases apply; phrases spanning several words do not.
        """
        found = self._word_memo.get(word)
        if found is None:
            plain = "usa" if word in ("US", "U.S.") else word.lower().replace("’", "'")
            found = tuple(
                t for stem in self._word(plain) for t in self._phrases.get((stem,), (stem,))
            )
            if len(self._word_memo) < MEMO_WORDS:
                self._word_memo[word] = found
        return found

    def term_set(self, texts: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for text in texts:
            out.update(self.terms(text))
        return out
