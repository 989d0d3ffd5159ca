"""SparseBM25 against rank_bm25.BM25Plus: same scores, bit for bit, on random corpora.

rank_bm25 is the reference: every check compares with ``BM25Plus.get_scores``
on the same tokens. top_k must return the records that holding at least one
query term rank best by (score desc, index asc), with exactly those scores.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rank_bm25

from bot.errors import CacheError
from bot.search.scorer import FORMAT_VERSION, SparseBM25

K1, B, DELTA = 1.2, 0.75, 1.0


def zipf_corpus(rng: np.random.Generator, n_docs: int, vocab: int, max_len: int) -> list[list[str]]:
    """Records of Zipf-distributed words: a few very common terms, a long tail of rare ones."""
    p = 1.0 / np.arange(1, vocab + 1)
    p /= p.sum()
    corpus = [
        [f"w{x}" for x in rng.choice(vocab, size=int(rng.integers(0, max_len + 1)), p=p)]
        for _ in range(n_docs)
    ]
    if not any(corpus):
        corpus[0] = ["w0"]  # rank_bm25 divides by the average length
    return corpus


def random_query(rng: np.random.Generator, vocab: int) -> list[str]:
    """0-8 terms, some beyond the vocabulary (unknown), repeats allowed."""
    return [f"w{x}" for x in rng.integers(0, vocab + 5, size=int(rng.integers(0, 9)))]


def reference_top(
    model: rank_bm25.BM25Plus, query: list[str], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """rank_bm25's ranking of the records holding a query term: (score desc, index asc)."""
    scores = model.get_scores(query)
    known = {t for t in query if t in model.idf}
    matching = np.array(
        [i for i, freqs in enumerate(model.doc_freqs) if known & freqs.keys()], dtype=np.int64
    )
    if not len(matching):
        return matching, np.empty(0)
    order = matching[np.lexsort((matching, -scores[matching]))][:k]
    return order, scores[order]


def assert_same_ranking(sparse: SparseBM25, model: rank_bm25.BM25Plus, query: list[str], k: int):
    ids, scores = sparse.top_k(query, k)
    ref_ids, ref_scores = reference_top(model, query, k)
    assert ids.tolist() == ref_ids.tolist(), query
    np.testing.assert_allclose(scores, ref_scores, rtol=0, atol=1e-9)
    assert scores.tolist() == ref_scores.tolist(), "not bit-identical"


@pytest.mark.parametrize("n_docs", [1, 2, 3, 4, 7, 30, 200, 2000])
def test_top_k_matches_rank_bm25(n_docs: int) -> None:
    rng = np.random.default_rng(n_docs)
    vocab = max(3, n_docs // 4)
    corpus = zipf_corpus(rng, n_docs, vocab, max_len=40)
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    sparse = SparseBM25.fit(corpus, k1=K1, b=B, delta=DELTA)
    for _ in range(60):
        query = random_query(rng, vocab)
        assert_same_ranking(sparse, model, query, k=10)
        assert_same_ranking(sparse, model, query, k=int(rng.integers(1, 4)))


def test_dense_scores_are_bit_identical() -> None:
    rng = np.random.default_rng(5)
    corpus = zipf_corpus(rng, 300, 60, max_len=30)
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    for sparse in (SparseBM25.fit(corpus), SparseBM25.from_rank_bm25(model)):
        for _ in range(40):
            query = random_query(rng, 60)
            assert np.array_equal(sparse.get_scores(query), model.get_scores(query))


def test_repeated_terms_count_again() -> None:
    corpus = [["drone", "factory"], ["drone", "drone", "moscow"], ["iran"], ["drone", "iran"]]
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    sparse = SparseBM25.fit(corpus)
    for query in (["drone", "drone"], ["iran", "drone", "iran", "iran"], ["drone", "x", "drone"]):
        assert_same_ranking(sparse, model, query, k=10)
    once = sparse.top_k(["iran"], 10)[1]
    twice = sparse.top_k(["iran", "iran"], 10)[1]
    assert twice[0] > once[0]


def test_other_parameters_match() -> None:
    rng = np.random.default_rng(9)
    corpus = zipf_corpus(rng, 150, 40, max_len=25)
    # (b=1 with empty records makes rank_bm25 divide 0 by 0: avoided here.)
    for k1, b, delta in ((1.5, 0.75, 1), (0.9, 0.4, 0.5), (2.0, 0.9, 0.0)):
        model = rank_bm25.BM25Plus(corpus, k1=k1, b=b, delta=delta)
        sparse = SparseBM25.fit(corpus, k1=k1, b=b, delta=delta)
        for _ in range(30):
            assert_same_ranking(sparse, model, random_query(rng, 40), k=5)


def test_statistics_match_rank_bm25() -> None:
    rng = np.random.default_rng(3)
    corpus = zipf_corpus(rng, 100, 30, max_len=20)
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    sparse = SparseBM25.fit(corpus)
    assert len(sparse) == model.corpus_size
    assert sparse.avgdl == model.avgdl
    assert sparse.vocabulary_size == len(model.idf)
    for term, idf in model.idf.items():
        assert sparse.idf(term) == idf
        assert sparse.doc_freq(term) == sum(term in f for f in model.doc_freqs)
    assert sparse.idf("unknown") is None
    assert sparse.doc_freq("unknown") == 0


def test_matches_only_and_edge_cases() -> None:
    sparse = SparseBM25.fit([["a", "b"], ["c"], ["a"], []])
    ids, _ = sparse.top_k(["a"], 10)
    assert ids.tolist() == [2, 0]  # shorter record first; records without "a" are not returned
    assert sparse.top_k(["zzz"], 10)[0].size == 0
    assert sparse.top_k([], 10)[0].size == 0
    assert sparse.top_k(["a"], 0)[0].size == 0
    empty = SparseBM25.fit([])
    assert len(empty) == 0 and empty.top_k(["a"], 3)[0].size == 0
    assert empty.get_scores(["a"]).shape == (0,)


def test_ties_go_to_the_lower_index() -> None:
    corpus = [["x", "y"]] * 6 + [["y"]]
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    sparse = SparseBM25.fit(corpus)
    ids, _ = sparse.top_k(["x"], 3)
    assert ids.tolist() == [0, 1, 2]
    assert_same_ranking(sparse, model, ["x", "y"], 4)


def test_fit_accepts_a_generator() -> None:
    corpus = [["a", "b", "a"], ["b", "c"], ["c"]]
    from_list = SparseBM25.fit(corpus)
    from_gen = SparseBM25.fit(list(doc) for doc in corpus)
    for query in (["a"], ["b", "c"], ["c", "c", "a"]):
        assert np.array_equal(from_list.get_scores(query), from_gen.get_scores(query))


# ---------------------------------------------------------------- persistence


@pytest.fixture
def fitted() -> tuple[SparseBM25, list[list[str]]]:
    rng = np.random.default_rng(11)
    corpus = zipf_corpus(rng, 400, 80, max_len=30)
    corpus[3] = ["ünïcode", "слово", "w1"]  # non-ASCII terms survive the round trip
    return SparseBM25.fit(corpus), corpus


def test_save_load_round_trip(tmp_path: Path, fitted) -> None:
    sparse, corpus = fitted
    path = tmp_path / "index.npz"
    sparse.save(path)
    loaded = SparseBM25.load(path)
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    rng = np.random.default_rng(1)
    for query in [["слово", "w1"], *[random_query(rng, 80) for _ in range(40)]]:
        assert_same_ranking(loaded, model, query, 10)
    assert loaded.vocabulary_size == sparse.vocabulary_size
    assert loaded.avgdl == sparse.avgdl
    with np.load(path, allow_pickle=False) as npz:  # no object arrays anywhere
        assert all(npz[name].dtype != object for name in npz.files)


def _rewrite(path: Path, change) -> None:
    """Load every array of an npz, let ``change`` edit the dict, write it back."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    change(arrays)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def _set_meta(arrays: dict, **updates) -> None:
    meta = json.loads(arrays["meta"].tobytes())
    meta.update(updates)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:-200]), id="truncated"),
        pytest.param(lambda p: p.write_bytes(b""), id="empty"),
        pytest.param(lambda p: p.write_bytes(b"not a zip file at all"), id="garbage"),
        pytest.param(lambda p: _flip_byte(p, 0.5), id="bit-flip-middle"),
        pytest.param(lambda p: _flip_byte(p, 0.9), id="bit-flip-late"),
        pytest.param(
            lambda p: _rewrite(p, lambda a: _set_meta(a, version=FORMAT_VERSION + 1)),
            id="wrong-version",
        ),
        pytest.param(lambda p: _rewrite(p, lambda a: _set_meta(a, kind="other")), id="wrong-kind"),
        pytest.param(lambda p: _rewrite(p, lambda a: a.pop("docs")), id="missing-array"),
        pytest.param(
            lambda p: _rewrite(p, lambda a: a.update(docs=a["docs"].astype(np.int64))),
            id="wrong-dtype",
        ),
        pytest.param(
            lambda p: _rewrite(p, lambda a: a.update(docs=a["docs"][::-1].copy())),
            id="unsorted-postings",
        ),
        pytest.param(
            lambda p: _rewrite(p, lambda a: a.update(docs=a["docs"] + 1000)),
            id="out-of-range",
        ),
        pytest.param(
            lambda p: _rewrite(p, lambda a: a.update(doc_len=a["doc_len"] + 1)),
            id="lengths-disagree",
        ),
        pytest.param(
            lambda p: _rewrite(p, lambda a: a.update(terms=_drop_last_term(a["terms"]))),
            id="vocabulary-cut",
        ),
        pytest.param(
            lambda p: _rewrite(p, lambda a: _set_meta(a, corpus_size=5)), id="meta-disagrees"
        ),
        pytest.param(
            lambda p: _rewrite(p, lambda a: a.update(meta=np.frombuffer(b"{", dtype=np.uint8))),
            id="meta-not-json",
        ),
    ],
)
def test_bad_files_raise_cache_error(tmp_path: Path, fitted, damage) -> None:
    path = tmp_path / "index.npz"
    fitted[0].save(path)
    damage(path)
    with pytest.raises(CacheError):
        SparseBM25.load(path)


def test_pickled_arrays_are_refused(tmp_path: Path, fitted) -> None:
    path = tmp_path / "index.npz"
    fitted[0].save(path)
    _rewrite(path, lambda a: a.update(doc_len=np.array([object()], dtype=object)))
    with pytest.raises(CacheError):
        SparseBM25.load(path)


def _flip_byte(path: Path, where: float) -> None:
    raw = bytearray(path.read_bytes())
    # Flip inside an array's data, not the zip directory: the CRC must catch it.
    with zipfile.ZipFile(path) as zf:
        info = max(zf.infolist(), key=lambda i: i.file_size)
    pos = info.header_offset + 30 + len(info.filename) + 128 + int((info.file_size - 128) * where)
    raw[min(pos, len(raw) - 1)] ^= 0x40
    path.write_bytes(bytes(raw))


def _drop_last_term(blob: np.ndarray) -> np.ndarray:
    raw = blob.tobytes()
    return np.frombuffer(raw[: raw.rindex(b"\0")], dtype=np.uint8)


def test_pruned_paths_on_a_larger_corpus() -> None:
    """Questions built from records' own words over 8k records: MaxScore prunes here."""
    rng = np.random.default_rng(2024)
    corpus = zipf_corpus(rng, 8_000, 3_000, max_len=60)
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    sparse = SparseBM25.fit(corpus)
    for _ in range(25):
        doc = corpus[int(rng.integers(len(corpus)))]
        words = [doc[i] for i in rng.integers(0, len(doc), size=min(len(doc), 6))] if doc else []
        query = [*words, f"w{int(rng.integers(3_000))}"]
        assert_same_ranking(sparse, model, query, k=10)


def test_counting_in_batches_builds_the_same_index() -> None:
    """Workers count runs of records; merging the runs in order equals one fit."""
    import pickle

    from bot.search.scorer import count_terms

    rng = np.random.default_rng(8)
    corpus = zipf_corpus(rng, 500, 120, max_len=30)
    whole = SparseBM25.fit(corpus)
    runs = [count_terms(corpus[i : i + 77]) for i in range(0, len(corpus), 77)]
    runs = [pickle.loads(pickle.dumps(run)) for run in runs]  # as if from worker processes
    merged = SparseBM25.from_counts(runs)
    assert merged.to_arrays().keys() == whole.to_arrays().keys()
    for name, array in whole.to_arrays().items():
        assert np.array_equal(merged.to_arrays()[name], array), name
    for _ in range(20):
        query = random_query(rng, 120)
        assert np.array_equal(merged.top_k(query, 10)[1], whole.top_k(query, 10)[1])


def test_transposed_sorted_and_blocked_builds_are_bit_identical(monkeypatch) -> None:
    """from_counts groups postings by a CSR -> CSC transpose, _from_postings by sorting
    shuffled (term, record, tf) triples, and the per-posting bounds are derived in
    blocks of terms at scale: every array the same, bit for bit."""
    from bot.search import scorer
    from bot.search.scorer import DELTA, K1, B, count_terms

    rng = np.random.default_rng(12)
    corpus = zipf_corpus(rng, 400, 150, max_len=40)
    fitted = SparseBM25.fit(corpus)
    c = count_terms(corpus)
    docs = np.repeat(np.arange(len(c.distinct)), c.distinct)
    order = rng.permutation(len(docs))
    shuffled = SparseBM25._from_postings(
        c.term_ids[order],
        docs[order],
        c.tf[order],
        c.terms,
        c.lengths.astype(np.int32),
        K1,
        B,
        DELTA,
    )
    monkeypatch.setattr(scorer, "_BLOCK", 64)
    blocked = SparseBM25.fit(corpus)
    assert len(blocked._term_blocks(np.diff(blocked._indptr))) > 10
    derived = ("_excess", "_bound", "_fwd_indptr", "_fwd_terms", "_fwd_tf", "_norms", "_idf")
    for other in (shuffled, blocked):
        for name, array in fitted.to_arrays().items():
            assert np.array_equal(other.to_arrays()[name], array), name
        for name in derived:
            mine, theirs = getattr(other, name), getattr(fitted, name)
            assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs), name


def test_record_terms_and_matched_come_from_the_index() -> None:
    corpus = [["drone", "factory", "drone"], ["iran", "moscow"], []]
    sparse = SparseBM25.fit(corpus)
    assert sorted(sparse.record_terms(0)) == ["drone", "factory"]
    assert sparse.record_terms(2) == []
    assert sparse.matched(0, ["factory", "iran", "nope"]) == {"factory"}
    assert sparse.matched(1, ["iran", "moscow", "iran"]) == {"iran", "moscow"}


@pytest.mark.parametrize(
    "tuning",
    [
        {"SMALL_QUERY": 0, "PROBE_MIN": 0},  # always prune, always probe
        {"SMALL_QUERY": 0, "SEARCH_COST": 1, "PROBES": 0},  # binary-search lookups
        {"SMALL_QUERY": 0, "SEARCH_COST": 10**9, "PROBES": 0},  # scanning lookups
    ],
)
def test_every_pruning_path_keeps_the_ranking(monkeypatch, tuning: dict[str, int]) -> None:
    """The cost thresholds only choose between equivalent paths: force each one."""
    from bot.search import scorer, topk

    for name, value in tuning.items():
        for module in (scorer, topk):  # the scorer imports some of them by name
            if hasattr(module, name):
                monkeypatch.setattr(module, name, value)
    rng = np.random.default_rng(77)
    corpus = zipf_corpus(rng, 3_000, 1_500, max_len=50)
    model = rank_bm25.BM25Plus(corpus, k1=K1, b=B, delta=DELTA)
    sparse = SparseBM25.fit(corpus)
    for _ in range(40):
        doc = corpus[int(rng.integers(len(corpus)))] or ["w1"]
        query = [doc[i] for i in rng.integers(0, len(doc), size=5)] + random_query(rng, 1_500)
        assert_same_ranking(sparse, model, query, k=int(rng.integers(1, 12)))
