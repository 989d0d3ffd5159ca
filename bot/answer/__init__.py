"""Answers: a question and an index → a short answer that cites its records, or abstains.

- :mod:`~bot.answer.kinds`: what a question asks for (a date, a claimant, a place, a figure)
- :mod:`~bot.answer.model`: :class:`Answer` and :class:`Citation`, before rendering
- :mod:`~bot.answer.snippets`: the excerpt sentence an answer quotes, words marked
- :mod:`~bot.answer.compose`: the cite-or-abstain rule and the lead line
- :mod:`~bot.answer.render`: plain text and JSON for the command line
- :mod:`~bot.answer.evaluate`: pass rate, Recall@k and MRR over a questions file

Knows nothing of Telegram.
"""

from bot.answer.compose import MAX_CITATIONS, NO_RECORDS, answer
from bot.answer.model import Answer, Citation

__all__ = ["MAX_CITATIONS", "NO_RECORDS", "Answer", "Citation", "answer"]
