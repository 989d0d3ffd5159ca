"""Text analysis: words, stems, stop words, names and aliases."""

import random

from bot.search.analysis import _US, WORD, Analyzer, words


def test_words_keep_hyphenated_names_and_numbers() -> None:
    assert words("Mohajer-6 drones, 2023!") == ["mohajer-6", "drones", "2023"]


def test_upper_case_us_is_the_country_not_the_pronoun() -> None:
    assert words("the US said") == ["the", "usa", "said"]
    assert words("the U.S. said") == ["the", "usa", "said"]
    assert words("tell us") == ["tell", "us"]


def test_terms_stem_drop_stop_words_and_split_names() -> None:
    analyzer = Analyzer()
    assert analyzer.terms("The factories were producing drones") == ["factori", "produc", "drone"]
    assert analyzer.terms("Mohajer-6") == ["mohajer-6", "mohaj", "6"]


def test_aliases_map_phrases_to_the_canonical_term_on_both_sides() -> None:
    analyzer = Analyzer([["drone", "uav", "one-way attack uav"], ["factory", "plant"]])
    question = analyzer.terms("UAV plant")
    record = analyzer.terms("drone factory")
    assert question == record == ["drone", "factori"]
    assert analyzer.terms("hundreds of one-way attack UAVs") == ["hundr", "drone"]


def test_control_characters_and_odd_scripts_do_not_break_analysis() -> None:
    analyzer = Analyzer()
    assert analyzer.terms("drone\x00\x1bfactory") == ["drone", "factori"]
    assert analyzer.terms("Когда построили завод?") == ["когда", "построили", "завод"]
    assert analyzer.terms("?!… 🙂🙂") == []


def _words_one_by_one(text: str) -> list[str]:
    """words() as it was before its ASCII fast path: clean, split, lowercase each word."""
    from bot.search.analysis import _US, WORD, clean

    return [w.lower().replace("’", "'") for w in WORD.findall(_US.sub(" usa ", clean(text)))]


def test_ascii_fast_path_splits_as_the_general_one() -> None:
    for text in (
        "The US and U.S.A. said: F-16s, MiG-29 (2023)\tnear\x00Kyiv's port",
        "tell us, USA",
        "İstanbul’s CAFÉ ＡＢＣ",
        "",
    ):
        assert words(text) == _words_one_by_one(text), text


def test_remembered_short_texts_give_fresh_lists() -> None:
    analyzer = Analyzer([["drone", "uav"]])
    first = analyzer.terms("UAV plant")
    first.append("changed")
    assert analyzer.terms("UAV plant") == ["drone", "plant"]
    assert analyzer.seen_words() == {"drone", "uav", "plant"}


def test_ascii_words_are_the_word_patterns_matches() -> None:
    rng = random.Random(1)
    alphabet = "abcXYZUSA.019-'’ _,;\t\n\x01\x7f\"()"
    texts = ["U.S. said", "the US-led", "don't", "'quoted'", "a--b", "-a-", "ab'-cd", "x_y"]
    texts += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24))) for _ in range(20000)
    ]
    for text in filter(str.isascii, texts):
        assert words(text) == WORD.findall(_US.sub(" usa ", text).lower()), text
