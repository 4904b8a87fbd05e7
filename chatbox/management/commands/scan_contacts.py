"""``scan_contacts``: contact details in JSON lines read from stdin, one result line each
(PROTOCOL.md §1)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.management.base import BaseCommand

from chatbox.contacts import scan


class Command(BaseCommand):
    help = (
        'Read JSON lines {"id": …, "text": "…"} on stdin and write one line per input: '
        '{"id": …, "contact": true|false, "spans": [[start, end, kind], …]}. A line that '
        'cannot be scanned gets {"id": …, "line": N, "error": "…"} and the command goes on.'
    )
    requires_system_checks: list[str] = []
    stealth_options = ("stdin",)

    def handle(self, *args: Any, **options: Any) -> None:
        stdin = options.get("stdin") or sys.stdin
        for number, line in _numbered_lines(stdin):
            if isinstance(line, str) and not line.strip():
                continue  # a blank line is no input: nothing to answer
            self.stdout.write(json.dumps(scan_line(line, number=number)))
            self.stdout.flush()


def _numbered_lines(stdin: Any) -> Iterator[tuple[int, str | UnicodeDecodeError]]:
    """Lines from 1, each decoded on its own so that one bad byte spoils only its line."""
    lines: Iterable[bytes | str] = getattr(stdin, "buffer", stdin)
    for number, line in enumerate(lines, start=1):
        if isinstance(line, str):
            yield number, line
            continue
        try:
            yield number, line.decode("utf-8")
        except UnicodeDecodeError as error:
            yield number, error


def scan_line(line: str | UnicodeDecodeError, *, number: int) -> dict[str, Any]:
    """The answer for one input line: its spans, or the reason it could not be scanned."""
    if isinstance(line, UnicodeDecodeError):
        return {"id": None, "line": number, "error": f"not UTF-8: {line.reason}"}
    try:
        record = json.loads(line, parse_constant=_refuse_constant)
    except ValueError as error:
        return {"id": None, "line": number, "error": f"invalid JSON: {error}"}
    if not isinstance(record, dict):
        return {"id": None, "line": number, "error": "expected a JSON object"}
    record_id = record.get("id")
    if "text" not in record:
        return {"id": record_id, "line": number, "error": 'missing "text"'}
    text = record["text"]
    if not isinstance(text, str):
        return {"id": record_id, "line": number, "error": '"text" must be a string'}
    spans = scan(text)
    return {
        "id": record_id,
        "contact": bool(spans),
        "spans": [[span.start, span.end, str(span.kind)] for span in spans],
    }


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; echoing them back as an id would write invalid JSON.
    raise ValueError(f"{name} is not valid JSON")
