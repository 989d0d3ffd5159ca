"""The bot's state without Telegram: reloads through the cache and a child process."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.chat import service
from bot.chat.service import QuestionRateLimiter, Service
from bot.search import LazyRecords
from bot.search.vectors import Embedder
from tests.records import record, write_records

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(KNOWLEDGE, tmp_path / "kb")
    return tmp_path / "kb"


async def test_large_reload_parses_in_a_child_process_and_reports_changes(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = Service.open(folder, cache_dir=tmp_path / "cache")
    assert isinstance(svc.knowledge.records, LazyRecords)  # served from the cache it wrote
    monkeypatch.setattr(service, "LARGE_KNOWLEDGE_BYTES", 0)  # every reload counts as large
    path = folder / "drone-factory.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("east of Moscow", "east of Kazan"))

    result = await svc.reload()

    assert result.ok, result.problems
    # Both records that name the place were edited, and nothing else.
    assert set(result.changes.edited) == {
        "jun-2023-us-intel-factory-east-of-moscow",
        "jun-2023-drone-plant-could-operate-early-2024",
    }
    assert not result.changes.added and not result.changes.removed
    assert "Kazan" in svc.ask("drone factory Kazan").citations[0].claim


async def test_broken_knowledge_from_a_child_process_is_refused_with_its_problems(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = Service.open(folder, cache_dir=tmp_path / "cache")
    old = svc.index
    monkeypatch.setattr(service, "LARGE_KNOWLEDGE_BYTES", 0)
    (folder / "broken.yaml").write_text("- id: [\n", encoding="utf-8")

    result = await svc.reload()

    assert not result.ok
    assert result.problems and result.problems[0].startswith("broken.yaml:")
    assert svc.index is old and svc.ask("Mohajer-6").found


async def test_unchanged_reload_reports_no_changes(folder: Path, tmp_path: Path) -> None:
    svc = Service.open(folder, cache_dir=tmp_path / "cache")
    result = await svc.reload()
    assert result.ok and not result.changes


def test_question_rate_limiter_window() -> None:
    now = [0.0]
    limiter = QuestionRateLimiter(2, period=60, clock=lambda: now[0])
    assert limiter.check(1) == 0 and limiter.check(1) == 0
    assert limiter.check(1) == pytest.approx(60)
    assert limiter.check(2) == 0
    now[0] = 61
    assert limiter.check(1) == 0


class CountingEmbedder:
    """The real test model, counting the texts it embeds."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.multilingual = inner, inner.name, inner.multilingual
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += list(texts)
        return self.inner.embed(texts)


async def test_reload_embeds_only_new_and_changed_records(
    tmp_path: Path, embedder: Embedder
) -> None:
    folder = write_records(tmp_path / "kb", [record(f"r-{n}", claim=f"Claim number {n}.")
                                             for n in range(5)])  # fmt: skip
    counting = CountingEmbedder(embedder)
    svc = Service.open(folder, cache_dir=tmp_path / "cache", embedder=counting)
    assert len(counting.texts) == 5 and svc.index.retrieval == "hybrid"
    records = [record(f"r-{n}", claim=f"Claim number {n}.") for n in range(5)]
    records[2] = record("r-2", claim="An edited claim about zeppelins.")
    records.append(record("r-new", claim="A new claim about submarines."))
    write_records(folder, records)
    counting.texts.clear()
    result = await svc.reload()
    assert result.ok and result.changes.edited == ("r-2",) and result.changes.added == ("r-new",)
    assert sorted(counting.texts) == sorted(
        ["An edited claim about zeppelins. (Someone)", "A new claim about submarines. (Someone)"]
    )
    assert svc.ask("zeppelins").citations[0].claim_id == "r-2"
    # A restart with nothing changed embeds nothing at all.
    counting.texts.clear()
    Service.open(folder, cache_dir=tmp_path / "cache", embedder=counting)
    assert counting.texts == []
