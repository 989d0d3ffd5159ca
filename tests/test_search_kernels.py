"""The compiled top-k (bot.search.kernels) against the numpy path and rank_bm25, bit for bit.

Every index is built twice from the same records: with ``BOT_NUMBA=1`` (the
kernel, at any size) and ``BOT_NUMBA=0`` (the numpy plan of bot.search.topk).
Both must return the same ids and the same score bits, and both must equal
rank_bm25's ``get_scores`` ranking of the records holding a query term.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import rank_bm25

from bot.search import scorer
from bot.search.scorer import SparseBM25
from tests.test_search_scorer import DELTA, K1, B, random_query, reference_top, zipf_corpus

pytest.importorskip("numba")


def pair(monkeypatch: pytest.MonkeyPatch, corpus: list[list[str]]) -> tuple[SparseBM25, SparseBM25]:
    """(compiled, numpy) indexes of the same records; fails if the switch does not switch."""
    monkeypatch.setenv("BOT_NUMBA", "1")
    compiled = SparseBM25.fit(corpus, k1=K1, b=B, delta=DELTA)
    monkeypatch.setenv("BOT_NUMBA", "0")
    plain = SparseBM25.fit(corpus, k1=K1, b=B, delta=DELTA)
    monkeypatch.delenv("BOT_NUMBA")
    assert compiled._kernel is not None and plain._kernel is None
    return compiled, plain


def assert_all_agree(
    compiled: SparseBM25,
    plain: SparseBM25,
    model: rank_bm25.BM25Plus,
    query: list[str],
    k: int,
) -> None:
    ids, scores = compiled.top_k(query, k)
    ref_ids, ref_scores = plain.top_k(query, k)
    assert ids.dtype == ref_ids.dtype == np.int64 and scores.dtype == ref_scores.dtype
    assert ids.tolist() == ref_ids.tolist(), (query, k)
    assert scores.tobytes() == ref_scores.tobytes(), ("score bits differ", query, k)
    rank_ids, rank_scores = reference_top(model, query, k)
    assert ids.tolist() == rank_ids.tolist(), (query, k)
    assert scores.tobytes() == rank_scores.astype(np.float64).tobytes(), (query, k)


def assert_scratch_clean(index: SparseBM25) -> None:
    """The thread's term -> slot scratch is -1 between questions (else the next is wrong)."""
    assert (index._thread_buffers().slots == -1).all()


@pytest.mark.parametrize("n_docs", [1, 2, 5, 40, 300, 3000])
def test_kernel_matches_numpy_and_rank_bm25(monkeypatch, n_docs: int) -> None:
    """Random questions: unknown terms, repeats, empty ones; k from 1 to past the matches."""
    rng = np.random.default_rng(1000 + n_docs)
    vocab = max(3, n_docs // 4)
    corpus = zipf_corpus(rng, n_docs, vocab, max_len=40)
    compiled, plain = pair(monkeypatch, corpus)
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    for _ in range(60):
        query = random_query(rng, vocab)
        for k in (1, int(rng.integers(2, 12)), n_docs + 5):
            assert_all_agree(compiled, plain, model, query, k)
    assert_scratch_clean(compiled)


def test_edge_questions(monkeypatch) -> None:
    corpus = [["drone", "plant", "drone"], ["iran", "moscow"], [], ["drone"], ["plant"]]
    compiled, plain = pair(monkeypatch, corpus)
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    for query in (
        [],  # empty question
        ["nope"],  # only unknown words
        ["nope", "drone", "nope"],
        ["drone", "drone", "drone"],  # a repeated term counts again
        ["plant", "drone", "plant"],
        ["moscow", "iran", "drone", "plant"],  # every record but the empty one matches
    ):
        for k in (1, 2, 10):
            assert_all_agree(compiled, plain, model, query, k)
    assert compiled.top_k(["drone"], 0)[0].tolist() == []
    assert compiled.top_k([], 5)[0].tolist() == []
    assert 2 not in compiled.top_k(["drone", "plant", "iran", "moscow"], 10)[0].tolist()


def test_single_record_corpus(monkeypatch) -> None:
    corpus = [["only", "words", "here", "only"]]
    compiled, plain = pair(monkeypatch, corpus)
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    for query in (["only"], ["here", "only", "here"], ["absent"], ["words", "absent"]):
        assert_all_agree(compiled, plain, model, query, 3)


def test_ties_go_to_the_lower_index(monkeypatch) -> None:
    """Identical records score identically: the lowest indices win, in order, on both paths."""
    corpus = [["alpha", "beta"]] * 40 + [["beta", "gamma"]] * 30 + [["alpha"]] * 5
    compiled, plain = pair(monkeypatch, corpus)
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    for query in (["alpha"], ["beta"], ["alpha", "beta"], ["gamma", "alpha", "alpha"]):
        for k in (1, 3, 10, 39, 41, 100):
            assert_all_agree(compiled, plain, model, query, k)
    assert compiled.top_k(["beta"], 3)[0].tolist() == [0, 1, 2]


def test_questions_from_records_prune_on_a_larger_corpus(monkeypatch) -> None:
    """Questions of a record's own words over 12k records: MaxScore prunes and looks up."""
    rng = np.random.default_rng(4242)
    corpus = zipf_corpus(rng, 12_000, 4_000, max_len=60)
    compiled, plain = pair(monkeypatch, corpus)
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    for _ in range(15):
        doc = corpus[int(rng.integers(len(corpus)))] or ["w0"]
        words = [doc[i] for i in rng.integers(0, len(doc), size=min(len(doc), 7))]
        query = [*words, words[0], f"w{int(rng.integers(4_000))}", "unknown"]
        assert_all_agree(compiled, plain, model, query, 10)
    assert_scratch_clean(compiled)


@pytest.mark.parametrize("k", [1, 10, 100, 700])
def test_scores_rising_with_the_record_index(monkeypatch, k: int) -> None:
    """Each record beats the ones before: the walk's threshold rises with every record, so
    its list of records that reached it is compacted and grown again and again."""
    rng = np.random.default_rng(k)
    # Shorter records weigh a term more: lengths fall with the index, so scores rise.
    corpus = [
        ["x"] + ["y"] * int(rng.integers(0, 2)) + ["pad"] * (600 - i // 2) for i in range(1200)
    ]
    corpus += [["z", "x"]] * 50  # ties at the top, and a third, rarer term
    compiled, plain = pair(monkeypatch, corpus)
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    for query in (["x"], ["x", "y"], ["y", "x", "x"], ["z", "y", "pad"], ["pad", "x"]):
        assert_all_agree(compiled, plain, model, query, k)


def test_a_rare_term_with_common_ones(monkeypatch) -> None:
    """One strong rare term and weak common ones: the common lists become non-essential at
    once and are only looked up, by galloping over long gaps."""
    rng = np.random.default_rng(5)
    corpus = zipf_corpus(rng, 6_000, 300, max_len=40)
    for i in rng.choice(len(corpus), size=25, replace=False).tolist():
        corpus[i] = [*corpus[i], "rare", "rare"]
    compiled, plain = pair(monkeypatch, corpus)
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    for query in (["rare", "w0", "w1"], ["w0", "rare", "w2", "w1", "w0"], ["w1", "rare"]):
        for k in (1, 10, 24, 25, 26, 200):
            assert_all_agree(compiled, plain, model, query, k)


def test_wide_term_frequencies_and_a_loaded_index(monkeypatch, tmp_path) -> None:
    """tf beyond uint8 (another compiled specialisation) and an index read back from disk."""
    rng = np.random.default_rng(3)
    corpus = zipf_corpus(rng, 200, 50, max_len=30)
    corpus[7] = ["w1"] * 300 + ["w2"] * 3
    compiled, plain = pair(monkeypatch, corpus)
    assert compiled._fwd_tf.dtype == np.uint16
    compiled.save(tmp_path / "bm25.npz")
    monkeypatch.setenv("BOT_NUMBA", "1")
    loaded = SparseBM25.load(tmp_path / "bm25.npz")
    assert loaded._kernel is not None
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    for _ in range(40):
        query = random_query(rng, 50)
        assert_all_agree(compiled, plain, model, query, 10)
        assert_all_agree(loaded, plain, model, query, 10)


def test_threads_share_an_index(monkeypatch) -> None:
    """Each thread has its own scratch: concurrent questions get the sequential answers."""
    rng = np.random.default_rng(11)
    corpus = zipf_corpus(rng, 2_000, 800, max_len=40)
    compiled, _ = pair(monkeypatch, corpus)
    queries = [[*random_query(rng, 800), "w0", "w3"] for _ in range(40)]
    expected = [compiled.top_k(q, 10) for q in queries]
    failures: list[int] = []

    def work() -> None:
        for _ in range(5):
            for i, query in enumerate(queries):
                ids, scores = compiled.top_k(query, 10)
                if ids.tolist() != expected[i][0].tolist() or scores.tobytes() != (
                    expected[i][1].tobytes()
                ):
                    failures.append(i)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_the_switch(monkeypatch) -> None:
    """Unset: compiled from KERNEL_MIN_RECORDS records on; BOT_NUMBA=0 never; =1 always."""
    corpus = [["a", "b"], ["b", "c"], ["c"]]
    monkeypatch.delenv("BOT_NUMBA", raising=False)
    assert SparseBM25.fit(corpus)._kernel is None  # 3 records: not worth numba's start-up
    monkeypatch.setattr(scorer, "KERNEL_MIN_RECORDS", 3)
    assert SparseBM25.fit(corpus)._kernel is not None
    monkeypatch.setenv("BOT_NUMBA", "0")
    assert SparseBM25.fit(corpus)._kernel is None
    monkeypatch.setattr(scorer, "KERNEL_MIN_RECORDS", 10**9)
    monkeypatch.setenv("BOT_NUMBA", "1")
    assert SparseBM25.fit(corpus)._kernel is not None
