#!/usr/bin/env python
"""The walk of one request: which of the project's files and functions run to answer it, the
ones a reader follows from the route to the database and back (tests/ and .venv left out).

The test app on a fresh SQLite database (every migration), one user whose token the request
carries (unless --anonymous), one request of the same kind first so that what runs once per
process (imports, caches filled) is not counted; then the request, traced with sys.settrace.

    .venv/bin/python bench/walk.py POST /api/articles [--json '{"article": {...}}'] [--list]
"""

import argparse
import json
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

NEW_ARTICLE = {
    "article": {
        "title": "A walk",
        "description": "Through the code",
        "body": "One request, end to end.",
        "tagList": ["walking", "code"],
    }
}


def project_file(filename: str) -> str | None:
    """`filename` relative to the project when it is the project's own code (not a test)."""
    path = Path(filename)
    if not path.is_absolute() or not path.is_relative_to(PROJECT_ROOT):
        return None
    relative = path.relative_to(PROJECT_ROOT)
    if relative.parts[0] in {".venv", "tests", "bench"}:
        return None
    return str(relative)


def traced(send) -> dict[str, list[str]]:
    """The project's functions (by file, in first-call order) that run while `send()` does."""
    called: dict[str, list[str]] = defaultdict(list)

    def on_call(frame, event, arg):
        code = frame.f_code
        where = project_file(code.co_filename)
        if where is not None and code.co_qualname not in called[where]:
            called[where].append(code.co_qualname)

    sys.settrace(lambda frame, event, arg: on_call(frame, event, arg))
    try:
        send()
    finally:
        sys.settrace(None)
    return called


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("method")
    parser.add_argument("path")
    parser.add_argument("--json", help="the JSON body (POST /api/articles: a new article)")
    parser.add_argument("--anonymous", action="store_true", help="send no token")
    parser.add_argument("--list", action="store_true", help="list the functions of each file")
    arguments = parser.parse_args()
    body = json.loads(arguments.json) if arguments.json else None
    if body is None and (arguments.method, arguments.path) == ("POST", "/api/articles"):
        body = NEW_ARTICLE

    os.environ.setdefault("LOG_LEVEL", "WARNING")
    database = Path(tempfile.mkdtemp(prefix="conduit-walk-")) / "walk.sqlite"
    os.environ["TEST_DATABASE_URL"] = f"sqlite:///{database}"
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.security import issue_token
    from blueprints.users.services import register_user

    app = create_app("test")
    with app.app_context():
        upgrade()
        user = register_user(username="walker", email="walker@example.com", password="a-walk-pw")
        db.session.commit()
        headers = {} if arguments.anonymous else {"Authorization": f"Token {issue_token(user.id)}"}
    client = app.test_client()

    def send(number: int):
        sent = body
        if isinstance(body, dict) and "article" in body:  # a new title: a new slug
            sent = {"article": {**body["article"], "title": f"{body['article']['title']} {number}"}}
        return client.open(arguments.path, method=arguments.method, json=sent, headers=headers)

    first = send(1)
    answers = []
    called = traced(lambda: answers.append(send(2)))
    statuses = f"{first.status_code}, then {answers[0].status_code}"
    print(f"{arguments.method} {arguments.path}: {statuses}")
    functions = sum(len(names) for names in called.values())
    named = sum(1 for names in called.values() for name in names if "<" not in name)
    print(f"{len(called)} files, {functions} functions ({named} named)")
    for where, names in called.items():
        print(f"  {where}: {len(names)}" + (f"  {', '.join(names)}" if arguments.list else ""))


if __name__ == "__main__":
    main()
