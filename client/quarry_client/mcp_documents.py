"""What a `quarry mcp` tool call may send as its document, and reading it.

`file_path` reads a file on the machine running the server, with the server's rights. Over
stdio that machine is the agent's own and the server runs as its user, so any path it can
read is fine. Over HTTP any client that reaches the port would read the server's files
(keys, `/etc/passwd`): there `file_path` is refused unless the operator named directories
with `--allow-dir`, and a path counts only if, with every `..` and symlink resolved, it
lies inside one of them. `file_base64` is capped at the upload limit before it is decoded.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from mcp.server.mcpserver.exceptions import ToolError

from quarry_client.files import LoadedFile, load_file

# The API's default `QUARRY_MAX_UPLOAD_BYTES`: larger documents would be refused there anyway.
DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024


def base64_length(size: int) -> int:
    """Characters of base64 (padded) that `size` bytes take."""
    return 4 * -(-size // 3)


@dataclass(frozen=True)
class DocumentPolicy:
    """Where `file_path` may point and how large a document may be.

    `allowed_dirs` None: any path the process can read (stdio). A tuple: only paths inside
    these directories (already resolved); an empty tuple refuses every `file_path`."""

    allowed_dirs: tuple[Path, ...] | None = None
    max_bytes: int = DEFAULT_MAX_FILE_BYTES

    @classmethod
    def confined_to(cls, dirs: list[Path], max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> DocumentPolicy:
        """Only files inside `dirs` (each must exist; symlinks in them are resolved now)."""
        resolved = []
        for directory in dirs:
            path = directory.expanduser().resolve(strict=True)
            if not path.is_dir():
                raise NotADirectoryError(f"{directory} is not a directory")
            resolved.append(path)
        return cls(allowed_dirs=tuple(resolved), max_bytes=max_bytes)

    def allows(self, path: Path) -> bool:
        """True when `path` (resolved) may be read."""
        if self.allowed_dirs is None:
            return True
        return any(path.is_relative_to(directory) for directory in self.allowed_dirs)

    def load(self, file_path: str | None, file_base64: str | None,
             file_name: str | None) -> LoadedFile:
        """The tool call's document, or a `ToolError` the agent can act on."""
        if (file_path is None) == (file_base64 is None):
            raise ToolError("give exactly one of file_path or file_base64")
        if file_path is not None:
            return load_file((file_name or Path(file_path).name, self._read(file_path)))
        return load_file((file_name or "document", self._decode(file_base64 or "")))

    def _refusal(self, file_path: str) -> ToolError:
        if not self.allowed_dirs:
            return ToolError("file_path is not accepted by this server (over HTTP it reads "
                             "no local files unless started with --allow-dir); send "
                             "file_base64 and file_name instead")
        return ToolError(f"file_path must be inside an allowed directory: {file_path}")

    def _read(self, file_path: str) -> bytes:
        # Resolve first and decide on the result, so `..` and symlinks cannot lead out, and
        # a refused path says nothing about whether the file exists.
        resolved = Path(file_path).expanduser().resolve()
        if not self.allows(resolved):
            raise self._refusal(file_path)
        try:
            fd = os.open(resolved, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            raise ToolError(f"no such file: {file_path}") from None
        with os.fdopen(fd, "rb") as handle:
            # The file actually opened, should a directory have been swapped for a symlink
            # after the check (Linux names it in /proc).
            opened = Path(f"/proc/self/fd/{fd}")
            if opened.is_symlink() and not self.allows(Path(os.readlink(opened))):
                raise self._refusal(file_path)
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise ToolError(f"no such file: {file_path}")
            self._check_size(info.st_size)
            data = handle.read(self.max_bytes + 1)
        self._check_size(len(data))  # it may have grown since fstat
        return data

    def _decode(self, encoded: str) -> bytes:
        # Checked on the text, before decoding allocates the bytes.
        if len(encoded) > base64_length(self.max_bytes):
            self._check_size(len(encoded) * 3 // 4)
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ToolError(f"file_base64 is not valid base64: {error}") from error
        self._check_size(len(data))
        return data

    def _check_size(self, size: int) -> None:
        if size > self.max_bytes:
            raise ToolError(f"the document is {size} bytes; this server accepts at most "
                            f"{self.max_bytes} bytes")
