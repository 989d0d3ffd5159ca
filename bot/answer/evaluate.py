"""Measure answer quality on a file of questions with expected phrases.

The file format is the one of ``shared/eval/dev-questions.yaml``::

    top: 3
    cases:
      - q: When was the factory reported?
        expect: [[factory, plant], ["2023-06", "june 2023"]]
      - q: Best pizza in Naples
        found: false

A case passes when, for every group in ``expect``, at least one phrase of the
group appears (case-insensitive) in the answer text or in the first ``top``
citations (snippet, date, claimant, source). A ``found: false`` case passes
when the bot abstains: found is false and no citation is given.

Retrieval figures: a citation is *relevant* when its own text holds a phrase
of every group; Recall@k is the share of answerable cases with a relevant
citation among the first k, MRR the mean reciprocal rank of the first one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.answer.compose import answer
from bot.answer.model import Answer, Citation
from bot.answer.render import answer_text
from bot.errors import EvalFileError
from bot.search.index import Index


@dataclass(frozen=True)
class Case:
    question: str
    expect: tuple[tuple[str, ...], ...] = ()
    found: bool = True
    #: Record ids any of which is a right answer: one must be among the first ``top``.
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseResult:
    case: Case
    answer: Answer
    passed: bool
    #: 1-based rank of the first relevant citation, None when there is none.
    rank: int | None


@dataclass(frozen=True)
class Report:
    results: tuple[CaseResult, ...]
    top: int

    @property
    def pass_rate(self) -> float:
        return sum(r.passed for r in self.results) / max(1, len(self.results))

    def _answerable(self) -> list[CaseResult]:
        return [r for r in self.results if r.case.found]

    def recall_at(self, k: int) -> float:
        rows = self._answerable()
        return sum(r.rank is not None and r.rank <= k for r in rows) / max(1, len(rows))

    @property
    def mrr(self) -> float:
        rows = self._answerable()
        return sum(1 / r.rank for r in rows if r.rank) / max(1, len(rows))


def load_cases(path: str | Path) -> tuple[list[Case], int]:
    """Read a questions file; raises EvalFileError saying what is wrong."""
    try:
        data: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise EvalFileError(f"{path}: cannot read questions: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise EvalFileError(f"{path}: expected a mapping with a 'cases' list")
    unknown = sorted(set(data) - FILE_KEYS)
    if unknown:
        raise EvalFileError(f"{path}: unknown key {unknown[0]!r} (known: top, cases)")
    cases = []
    for n, raw in enumerate(data["cases"], start=1):
        if not isinstance(raw, dict) or not isinstance(raw.get("q"), str):
            raise EvalFileError(f"{path}: case {n} needs a 'q' text")
        unknown = sorted(set(raw) - CASE_KEYS)
        if unknown:
            raise EvalFileError(
                f"{path}: case {n}: unknown key {unknown[0]!r} "
                f"(known: {', '.join(sorted(CASE_KEYS))})"
            )
        groups = raw.get("expect") or []
        if not isinstance(groups, list) or not all(isinstance(g, list) and g for g in groups):
            raise EvalFileError(f"{path}: case {n}: 'expect' must be a list of phrase lists")
        ids = raw.get("ids") or []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise EvalFileError(f"{path}: case {n}: 'ids' must be a list of record ids")
        found = raw.get("found", True)
        if not isinstance(found, bool):
            raise EvalFileError(f"{path}: case {n}: 'found' must be true or false")
        if found and not groups and not ids:
            raise EvalFileError(f"{path}: case {n}: an answerable case needs 'expect' or 'ids'")
        expect = tuple(tuple(str(p).lower() for p in g) for g in groups)
        cases.append(Case(raw["q"], expect, found, tuple(ids)))
    top = data.get("top", 3)
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise EvalFileError(f"{path}: 'top' must be a whole number of at least 1")
    return cases, top


FILE_KEYS = frozenset({"top", "cases"})
CASE_KEYS = frozenset({"q", "expect", "found", "ids"})


def _citation_text(c: Citation) -> str:
    return " ".join((c.snippet, c.date, c.date_text, c.claimant, c.source or "", c.claim)).lower()


def _holds_all(text: str, groups: tuple[tuple[str, ...], ...]) -> bool:
    return all(any(p in text for p in group) for group in groups)


def _relevant(case: Case, c: Citation) -> bool:
    if case.ids:
        return c.claim_id in case.ids and _holds_all(_citation_text(c), case.expect)
    return _holds_all(_citation_text(c), case.expect)


def judge(case: Case, result: Answer, top: int) -> CaseResult:
    """Judge one answer against its case, as the file's header says; with ``ids``,
    one of the first ``top`` citations must also be one of those records."""
    rank = next((i for i, c in enumerate(result.citations, 1) if _relevant(case, c)), None)
    if not case.found:
        return CaseResult(case, result, not result.found and not result.citations, None)
    seen = " ".join(
        [answer_text(result).lower()] + [_citation_text(c) for c in result.citations[:top]]
    )
    passed = result.found and _holds_all(seen, case.expect)
    if case.ids:
        passed = passed and any(c.claim_id in case.ids for c in result.citations[:top])
    return CaseResult(case, result, passed, rank)


def evaluate(index: Index, cases: list[Case], top: int = 3) -> Report:
    return Report(tuple(judge(c, answer(index, c.question), top) for c in cases), top)


def _expected(case: Case) -> str:
    if not case.found:
        return "no citation (I have no claim records about that)"
    groups = " and ".join("(" + " | ".join(g) + ")" for g in case.expect)
    ids = f" from one of [{', '.join(case.ids)}]" if case.ids else ""
    return (groups or "a citation") + ids


def format_report(report: Report, verbose: bool = False) -> str:
    lines = []
    for r in report.results:
        if verbose or not r.passed:
            mark = "PASS" if r.passed else "FAIL"
            lines.append(f"{mark}  {r.case.question}")
            if not r.passed:
                lines.append("      expected: " + _expected(r.case))
                lines.append("      got:")
                lines += ["        " + line for line in answer_text(r.answer).splitlines()]
    passed = sum(r.passed for r in report.results)
    lines.append(
        f"{passed}/{len(report.results)} passed ({report.pass_rate:.0%}); "
        f"Recall@1 {report.recall_at(1):.2f}, "
        f"Recall@{report.top} {report.recall_at(report.top):.2f}, MRR {report.mrr:.2f}"
    )
    return "\n".join(lines)
