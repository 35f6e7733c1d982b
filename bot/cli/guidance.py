"""CLI for the knowledge base: ``content check``, ``ask`` and the ``unanswered`` inbox."""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    content = sub.add_parser("content", help="knowledge-base tools")
    content_sub = content.add_subparsers(dest="content_command", required=True, metavar="COMMAND")
    check = content_sub.add_parser("check", help="validate every topic file; non-zero exit on problems")
    check.set_defaults(run=cmd_content_check, needs_db=False)

    ask = sub.add_parser("ask", help="answer questions from the arguments, or one per line from stdin")
    ask.add_argument("question", nargs="*", help="questions, one per argument (quote each question)")
    ask.add_argument("--json", action="store_true", help="one JSON object per line")
    ask.set_defaults(run=cmd_ask, needs_db=False)

    warm = sub.add_parser("matcher", help="build the question matcher into its disk cache now (run it after a "
                          "content change, before the bot starts: its first question is then answered at once)")
    warm.set_defaults(run=cmd_matcher, needs_db=False)

    unanswered = sub.add_parser("unanswered", help="questions the bot could not answer, grouped")
    unanswered.add_argument("--limit", type=int, default=20)
    un_sub = unanswered.add_subparsers(dest="unanswered_command", metavar="COMMAND")
    mapped = un_sub.add_parser("map", help="answer a group with a topic from now on")
    mapped.add_argument("group", type=int)
    mapped.add_argument("topic")
    ignored = un_sub.add_parser("ignore", help="ignore a group for good")
    ignored.add_argument("group", type=int)
    unanswered.set_defaults(run=cmd_unanswered)


async def cmd_content_check(args, app) -> int:
    from content.campaign_file import check_campaigns
    from content.kb import main

    code = main([])
    from content.progress_units import check_former_names
    from db.units import current_units

    problems = check_campaigns()  # campaign files: the same checks as `campaign new`
    for problem in problems:
        print(f"campaign: {problem}", file=sys.stderr)
    former = check_former_names(current_units())  # the former → current commune names table
    for problem in former:
        print(f"units: {problem}", file=sys.stderr)
    problems += former
    return code or (1 if problems else 0)


async def cmd_matcher(args, app) -> int:
    import time

    from content.matcher import default_cache_dir

    started = time.monotonic()
    topics = len(app.services.matcher.ids)  # read back whole from the cache, or built and written there
    print(f"Bộ so khớp câu hỏi ({topics} chủ đề) sẵn sàng sau {time.monotonic() - started:.1f} s, "
          f"lưu ở {default_cache_dir()}")
    return 0


async def cmd_ask(args, app) -> int:
    from content.matcher import answer_questions

    questions = list(args.question) if args.question else [line.strip() for line in sys.stdin if line.strip()]
    for result in answer_questions(app.services.matcher, questions):
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            topic = result["topic"] or (("? " + ", ".join(result["suggestions"])) if result["suggestions"]
                                        else f"({result['small_talk']})" if "small_talk" in result else "-")
            title = app.services.kb.get(result["topic"]).title if result["topic"] else ""
            print(f"{result['question']}\t{topic}\t{result['score']:.3f}\t{title}")
    return 0


async def cmd_unanswered(args, app) -> int:
    from db import guidance

    async with app.sessions() as session:
        if args.unanswered_command in ("map", "ignore"):
            topic = getattr(args, "topic", None)
            if topic is not None and app.services.kb.get(topic) is None:
                print(f"Không có chủ đề {topic}", file=sys.stderr)
                return 2
            closed = await guidance.resolve_group(session, args.group, topic)
            await session.commit()
            if not closed:
                print(f"Không có nhóm câu hỏi {args.group} đang chờ xử lý", file=sys.stderr)
                return 1
            print(f"{closed} câu hỏi → {topic or 'bỏ qua'}")
            return 0
        for group in await guidance.open_groups(session, limit=args.limit):
            kinds = ", ".join(f"{k}={v}" for k, v in sorted(group.kinds.items()))
            print(f"{group.id}\t{group.count}\t{kinds}\t{','.join(group.top_topics)}\t{group.text}")
    return 0
