"""Command line: ``python -m bot COMMAND`` (or ``claimbot COMMAND``).

Only wiring: each command's work lives in its room (knowledge, search, answer,
chat). Heavy imports happen inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot import __version__
from bot import config as serve_settings
from bot.errors import KnowledgeError, SettingsError
from bot.knowledge.inputs import DEFAULT_MAX_BYTES
from bot.knowledge.loader import RECORD_SUFFIXES, KnowledgeBase, load

if TYPE_CHECKING:
    from bot.search.index import Index

BENCH_MOVED = (
    "The benchmark is not part of the installed bot. From a source checkout run:\n"
    '  pip install -e ".[bench]" && python -m bench --quick\n'
    "(see bench/README.md)."
)

EXAMPLES = """\
examples:
  python -m bot ask "When was the factory reported?"
  python -m bot ask --json "Who said Iran is Russia's top military backer?"
  printf 'Mohajer-6\\nShahed drones\\n' | python -m bot ask --json -
  python -m bot validate knowledge/
  python -m bot eval ../shared/eval/dev-questions.yaml
  python -m bot import fact-checks/ feed.json sheet.csv
  python -m bot export --format claimreview --out feed.json
  python -m bot list --tag fact-check --since 2022
  python -m bot show jun-2023-us-intel-factory-east-of-moscow
  TELEGRAM_BOT_TOKEN=123:abc python -m bot serve
  python -m bot feedback --json --since 2026-12-01
"""


def _print_problems(error: KnowledgeError) -> None:
    print(error, file=sys.stderr)


def _load_index(args: argparse.Namespace) -> Index | None:
    from bot.search.build import open_index  # here, not at the top: a fast --help
    from bot.search.vectors import load_model_or_none, model_spec

    try:
        folder = args.knowledge or serve_settings.default_knowledge()
        embedder = load_model_or_none(model_spec(getattr(args, "model", None)))
        return open_index(folder, serve_settings.cache_dir_of(args), embedder)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    except KnowledgeError as exc:
        _print_problems(exc)
        return None


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        folder = args.folder or serve_settings.default_knowledge()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
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


#: The most records one answer may cite (``ask --limit``).
MAX_LIMIT = 50


def _citation_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_LIMIT}, got {value}")
    return value


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.answer.compose import answer
    from bot.answer.render import answer_json, answer_text

    index = _load_index(args)
    if index is None:
        return 1

    def reply(question: str) -> str:
        result = answer(index, question, limit=args.limit)
        if args.json:
            return json.dumps(answer_json(result, index.retrieval), ensure_ascii=False)
        return (
            f"{result.question}\n{answer_text(result)}" if result.question else answer_text(result)
        )

    if args.question == "-":
        # One reply per input line, blank lines included, so outputs line up with inputs.
        for line in sys.stdin:
            print(reply(line.rstrip("\n")), flush=True)
            if not args.json:
                print()
        return 0
    print(reply(args.question))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.answer.evaluate import evaluate, format_report, load_cases
    from bot.errors import EvalFileError

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


def _knowledge_folder(args: argparse.Namespace) -> Path | None:
    try:
        return Path(args.knowledge or serve_settings.default_knowledge())
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _load_knowledge(args: argparse.Namespace) -> KnowledgeBase | None:
    folder = _knowledge_folder(args)
    if folder is None:
        return None
    try:
        return load(folder)
    except KnowledgeError as exc:
        _print_problems(exc)
        return None


def _megabytes(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of megabytes") from None
    if not 0 < value <= 10_000:
        raise argparse.ArgumentTypeError(f"must be between 0 and 10000 MB, got {text}")
    return int(value * 1_000_000)


def _since(text: str) -> str:
    from bot.knowledge.listing import since_date

    try:
        return since_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_import(args: argparse.Namespace) -> int:
    from bot.knowledge.importer import DEFAULT_INTO, run_import

    if args.into is None:
        folder = _knowledge_folder(args)
        if folder is None:
            return 2
        into = folder / DEFAULT_INTO
    else:
        into = args.into
    if into.suffix not in RECORD_SUFFIXES:
        print(f"error: --into {into}: the file must end in .yaml or .yml", file=sys.stderr)
        return 2
    report = run_import(args.paths, into, max_bytes=args.max_size, dry_run=args.dry_run)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print(report.text())
    return report.exit_code


def cmd_export(args: argparse.Namespace) -> int:
    from bot.knowledge.export import export_text, export_to

    kb = _load_knowledge(args)
    if kb is None:
        return 1
    if args.out is None:
        sys.stdout.write(export_text(kb.records, args.format))
        return 0
    try:
        export_to(kb.records, args.format, args.out)
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"exported {len(kb.records)} records as {args.format} to {args.out}", file=sys.stderr)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from bot.knowledge.listing import list_json, list_rows, select

    kb = _load_knowledge(args)
    if kb is None:
        return 1
    chosen = select(kb.records, args.tag or (), args.since)
    if args.json:
        print(json.dumps(list_json(chosen), ensure_ascii=False))
    elif chosen:
        print(list_rows(chosen))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from bot.errors import UnknownRecordError
    from bot.knowledge.listing import find, show_json, show_text

    kb = _load_knowledge(args)
    if kb is None:
        return 1
    try:
        record = find(kb.by_id, args.id)
    except UnknownRecordError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(show_json(record), ensure_ascii=False))
    else:
        print(show_text(record))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.chat import app

    return app.main(args)


def cmd_feedback(args: argparse.Namespace) -> int:
    from bot.chat.feedback import FeedbackStore, entry_line, parse_since
    from bot.chat.store import FILENAME, Store

    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        print(f"error: --since: {exc}", file=sys.stderr)
        return 2
    folder = serve_settings.resolve_data_dir(args.data_dir)
    if not (folder / FILENAME).is_file():
        print(f"No feedback yet: {folder / FILENAME} does not exist.", file=sys.stderr)
        return 0
    entries = FeedbackStore(Store.open(folder)).entries(since=since)
    for entry in entries:
        print(json.dumps(entry.to_json(), ensure_ascii=False) if args.json else entry_line(entry))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    print(BENCH_MOVED, file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Answer questions from curated claim records, citing dated snippets "
        "and sources; or run the Telegram bot that does it.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
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
        "--limit",
        type=_citation_limit,
        default=6,
        metavar="N",
        help=f"cite at most N records, 1 to {MAX_LIMIT} (default 6)",
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

    importing = commands.add_parser(
        "import",
        help="import fact-checks: ClaimReview JSON-LD, HTML pages, Fact Check API JSON, CSV",
        description="Read ClaimReview markup (JSON-LD objects, arrays, @graph, DataFeed; HTML "
        "pages with <script type=application/ld+json>; a Fact Check Tools API claims:search "
        "response) and CSV sheets, and merge their records into the knowledge folder's file "
        "of imported records. Ids are stable, so importing again changes only what changed. "
        "Exit 0 when the run completed (skipped items are reported), 1 when an input could "
        "not be read or nothing could be imported, 2 for usage errors.",
    )
    importing.add_argument(
        "paths", nargs="+", metavar="PATH", help="files or folders (read recursively)"
    )
    importing.add_argument(
        "--into",
        type=Path,
        metavar="FILE",
        default=None,
        help="the YAML file of imported records (default: imported.yaml in the knowledge folder)",
    )
    importing.add_argument("--json", action="store_true", help="print the report as JSON")
    importing.add_argument(
        "--dry-run", action="store_true", help="report what would change; write nothing"
    )
    importing.add_argument(
        "--max-size",
        type=_megabytes,
        default=DEFAULT_MAX_BYTES,
        metavar="MB",
        help=f"the largest file read, in MB (default {DEFAULT_MAX_BYTES // 1_000_000})",
    )
    serve_settings.add_knowledge_folder(importing)
    importing.set_defaults(func=cmd_import)

    exporting = commands.add_parser(
        "export",
        help="write the knowledge base as ClaimReview JSON-LD or CSV",
        description="Write every record: --format claimreview gives a schema.org DataFeed "
        "(a ClaimReview per imported fact-check, a Claim per curated record), --format csv "
        "the spreadsheet columns import reads. Importing the export gives the same records.",
    )
    exporting.add_argument("--format", required=True, choices=("claimreview", "csv"))
    exporting.add_argument(
        "--out", type=Path, metavar="FILE", default=None, help="write here (default: stdout)"
    )
    serve_settings.add_knowledge_folder(exporting)
    exporting.set_defaults(func=cmd_export)

    listing = commands.add_parser(
        "list",
        help="list records: id, date, claimant, first words of the claim",
        description="List the records of the knowledge base, in load order.",
    )
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.add_argument(
        "--tag", action="append", metavar="TAG", help="only records with this tag (repeatable)"
    )
    listing.add_argument(
        "--since",
        type=_since,
        metavar="DATE",
        default=None,
        help="only records that may date from DATE on (YYYY, YYYY-MM or YYYY-MM-DD)",
    )
    serve_settings.add_knowledge_folder(listing)
    listing.set_defaults(func=cmd_list)

    show = commands.add_parser(
        "show", help="print one record, every field", description="Print one record by its id."
    )
    show.add_argument("id", metavar="ID", help="the record's id (see `list`)")
    show.add_argument("--json", action="store_true", help="print the record as JSON")
    serve_settings.add_knowledge_folder(show)
    show.set_defaults(func=cmd_show)

    serve = commands.add_parser(
        "serve",
        help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)",
        description="Run the Telegram bot: long polling by default, or a webhook.",
        epilog="environment: TELEGRAM_BOT_TOKEN (required, from @BotFather), "
        "TELEGRAM_API_BASE_URL (a self-hosted Bot API server), BOT_ADMIN_IDS "
        "(comma-separated numeric user ids allowed to /reload, /stats and /feedback), "
        "BOT_KNOWLEDGE_DIR, BOT_DATA_DIR (answers and feedback). SIGHUP reloads the "
        "knowledge base. See README: Run it on Telegram.",
    )
    # The options live in bot.config: importing the chat layer (and with it
    # python-telegram-bot) would slow down every other command.
    serve_settings.add_arguments(serve)
    serve.set_defaults(func=cmd_serve)

    feedback = commands.add_parser(
        "feedback",
        help="list what readers said about answers (👍 / 👎, comments), newest first",
        description="List the verdicts readers gave on the bot's answers in Telegram, newest "
        "first: time, chat type, user id, question, cited record ids, verdict, comment.",
    )
    feedback.add_argument("--json", action="store_true", help="one JSON object per line")
    feedback.add_argument(
        "--since", metavar="DATE", default=None, help="only from DATE on (2026-12-01, UTC)"
    )
    serve_settings.add_data_argument(feedback)
    feedback.set_defaults(func=cmd_feedback)

    bench = commands.add_parser(
        "bench",
        help="how to run the benchmark (python -m bench, from a source checkout)",
        description=BENCH_MOVED,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Warnings (a model that will not load, a cache that cannot be written) as one line.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    parser = build_parser()
    # `bench` takes the benchmark's options only to say where it went.
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command != "bench":
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
