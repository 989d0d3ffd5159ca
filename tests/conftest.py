"""Shared fixtures: the shipped knowledge base and its index, in both retrieval modes.

Tests and every ``python -m bot`` process they start use the embedding model in
``shared/models/`` (no network here): BOT_EMBEDDING_MODEL is set before any
test runs, unless the environment already names one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, load
from bot.search import Index
from bot.search.build import with_vectors
from bot.search.vectors import Embedder, load_model

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
#: shared/ lies beside the repository (in CI: beside the fresh clone).
SHARED = ROOT.parent / "shared"
MODEL = SHARED / "models" / "all-MiniLM-L6-v2-onnx"
#: The test knowledge bases about other stories, each with its questions.
BASES = ROOT / "tests" / "bases"

os.environ.setdefault("BOT_EMBEDDING_MODEL", str(MODEL))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    if not (MODEL / "model.onnx").is_file():
        pytest.fail(f"the test embedding model is missing: {MODEL} (shared/ beside the repo)")
    model = load_model(str(MODEL))
    assert model is not None
    return model


@pytest.fixture(scope="session")
def knowledge() -> KnowledgeBase:
    return load(KNOWLEDGE)


@pytest.fixture(scope="session")
def lexical_index(knowledge: KnowledgeBase) -> Index:
    return Index.build(knowledge)


@pytest.fixture(scope="session")
def hybrid_index(lexical_index: Index, embedder: Embedder) -> Index:
    return with_vectors(lexical_index, embedder)


@pytest.fixture(scope="session", params=["lexical", "hybrid"])
def index(request: pytest.FixtureRequest) -> Index:
    """The shipped index: every test that takes it runs with BM25 alone and hybrid."""
    return request.getfixturevalue(f"{request.param}_index")  # type: ignore[no-any-return]
