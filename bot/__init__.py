"""claimbot: cited answers from curated claim records, on the command line and Telegram.

Data flows one way, one subpackage a step::

    knowledge/*.yaml → bot.knowledge (validated records)
                     → bot.search    (index: analysis, BM25, cache)
                     → bot.answer    (answer, snippets, text/JSON, evaluation)
                     → bot.chat      (Telegram HTML, buttons, handlers, the app)

``bot.cli`` wires the command line, ``bot.config`` reads settings and
``bot.errors`` holds every exception the bot raises on purpose.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("claimbot")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
