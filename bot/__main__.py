"""Command line: ``python -m bot COMMAND``. Only wiring; each command lives in its module."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import bench as bench_module
from bot import settings as serve_settings
from bot.knowledge import KnowledgeError, load

EXAMPLES = """\
examples:
  python -m bot ask "When was the factory reported?"
  python -m bot ask --json "Who said Iran is Russia's top military backer?"
  printf 'Mohajer-6\\nShahed drones\\n' | python -m bot ask --json -
  python -m bot validate knowledge/
  python -m bot eval ../shared/eval/dev-questions.yaml
  TELEGRAM_BOT_TOKEN=123:abc python -m bot serve
"""


def _print_problems(error: KnowledgeError) -> None:
    print(error, file=sys.stderr)


def _load_index(args: argparse.Namespace):  # -> Index | None; imported lazily for a fast --help
    from bot.search import open_index

    try:
        return open_index(
            args.knowledge or serve_settings.default_knowledge(),
            serve_settings.cache_dir_of(args),
        )
    except KnowledgeError as exc:
        _print_problems(exc)
        return None


def cmd_validate(args: argparse.Namespace) -> int:
    folder = args.folder or serve_settings.default_knowledge()
    try:
        kb = load(folder)
    except KnowledgeError as exc:
        _print_problems(exc)
        return 1
    print(
        f"{folder}: OK — {len(kb.records)} records in {len(kb.files)} files, "
        f"{len(kb.aliases)} alias groups"
    )
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.answer import answer
    from bot.render import answer_json, answer_text

    index = _load_index(args)
    if index is None:
        return 1

    def reply(question: str) -> str:
        result = answer(index, question, limit=args.limit)
        if args.json:
            return json.dumps(answer_json(result), ensure_ascii=False)
        return (
            f"{result.question}\n{answer_text(result)}" if result.question else answer_text(result)
        )

    if args.question == "-":
        for line in sys.stdin:
            if line.strip():
                print(reply(line.rstrip("\n")), flush=True)
                if not args.json:
                    print()
        return 0
    print(reply(args.question))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluate import EvalFileError, evaluate, format_report, load_cases

    try:
        cases, top = load_cases(args.file)
    except EvalFileError as exc:
        print(exc, file=sys.stderr)
        return 2
    index = _load_index(args)
    if index is None:
        return 1
    report = evaluate(index, cases, top)
    print(format_report(report, verbose=args.verbose))
    return 0 if report.pass_rate == 1.0 else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from bot import chat

    return chat.main(args)


def cmd_bench(args: argparse.Namespace) -> int:
    return bench_module.main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Answer questions from curated claim records, citing dated snippets "
        "and sources; or run the Telegram bot that does it.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ask = commands.add_parser(
        "ask",
        help="answer a question from the knowledge base",
        description="Answer a question with cited, dated records; or say there are none.",
    )
    ask.add_argument(
        "question", metavar="QUESTION", help="the question, or - to read one per line from stdin"
    )
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.add_argument(
        "--limit", type=int, default=6, metavar="N", help="cite at most N records (default 6)"
    )
    serve_settings.add_knowledge_arguments(ask)
    ask.set_defaults(func=cmd_ask)

    validate = commands.add_parser(
        "validate",
        help="check the knowledge base and list every problem",
        description="Validate every YAML file of a knowledge folder and list every problem; "
        "exit 0 when clean, 1 otherwise.",
    )
    validate.add_argument("folder", nargs="?", type=Path, metavar="DIR", help="knowledge folder")
    validate.set_defaults(func=cmd_validate)

    evaluate = commands.add_parser(
        "eval",
        help="measure answers against a questions file (pass rate, Recall@k, MRR)",
        description="Run every case of a questions file (format: shared/eval/dev-questions.yaml); "
        "exit 0 only when all pass.",
    )
    evaluate.add_argument("file", type=Path, metavar="FILE", help="questions file (YAML)")
    evaluate.add_argument("--verbose", "-v", action="store_true", help="list passing cases too")
    serve_settings.add_knowledge_arguments(evaluate)
    evaluate.set_defaults(func=cmd_eval)

    serve = commands.add_parser(
        "serve",
        help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)",
        description="Run the Telegram bot: long polling by default, or a webhook.",
        epilog="environment: TELEGRAM_BOT_TOKEN (required, from @BotFather), "
        "TELEGRAM_API_BASE_URL (a self-hosted Bot API server), BOT_ADMIN_IDS "
        "(comma-separated numeric user ids allowed to /reload and /stats), "
        "BOT_KNOWLEDGE_DIR. SIGHUP reloads the knowledge base. See README: Run it on Telegram.",
    )
    # The options live in bot.settings: importing the chat layer (and with it
    # python-telegram-bot) would slow down every other command.
    serve_settings.add_arguments(serve)
    serve.set_defaults(func=cmd_serve)

    bench = commands.add_parser(
        "bench",
        help="benchmark search speed against plain rank-bm25",
        description="Generate knowledge bases of growing size and time the ask path "
        "side by side with plain rank-bm25.",
    )
    bench_module.add_arguments(bench)
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
