"""Shared fixtures: the shipped knowledge base and its index, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, load
from bot.search import Index

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
#: shared/ lies beside the repository (in CI: beside the fresh clone).
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def knowledge() -> KnowledgeBase:
    return load(KNOWLEDGE)


@pytest.fixture(scope="session")
def index(knowledge: KnowledgeBase) -> Index:
    return Index.build(knowledge)
