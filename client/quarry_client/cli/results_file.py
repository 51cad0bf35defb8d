"""The batch output: a JSON Lines file that is always consistent and says what is done.

Each record is written with one `write()` on an `O_APPEND` descriptor, so an
interrupted run leaves whole lines only; a torn last line (power loss, SIGKILL)
is cut off when the file is opened again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class ResultsFile:
    """Records by relative path; the last line for a path wins."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        _cut_torn_tail(path)
        self.records: dict[str, dict[str, Any]] = _read_records(path)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def is_done(self, rel_path: str, *, retry_failed: bool = False) -> bool:
        record = self.records.get(rel_path)
        if record is None:
            return False
        return record.get("status") == "ok" or not retry_failed

    def drop_failures(self) -> list[dict[str, Any]]:
        """Rewrite the file without its error lines (atomically); return the dropped records."""
        failed = [r for r in self.records.values() if r.get("status") != "ok"]
        if not failed:
            return []
        kept = [r for r in self.records.values() if r.get("status") == "ok"]
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text("".join(_line(record) for record in kept), encoding="utf-8")
        os.close(self._fd)
        os.replace(temporary, self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.records = {r["path"]: r for r in kept}
        return failed

    def append(self, record: dict[str, Any]) -> None:
        data = _line(record).encode("utf-8")
        written = os.write(self._fd, data)
        while written < len(data):  # a short write: finish it (the line stays contiguous)
            written += os.write(self._fd, data[written:])
        self.records[record["path"]] = record

    def close(self) -> None:
        os.close(self._fd)


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def _cut_torn_tail(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return
    with path.open("r+b") as handle:
        handle.truncate(data.rfind(b"\n") + 1)


def _read_records(path: Path) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return records
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and isinstance(record.get("path"), str):
                records[record["path"]] = record
    return records
