"""Puts generated events in time order without holding them all in memory.

Behaviours are generated account by account, not in time order. Encoded lines go into
hourly buckets spilled to temporary files (an external bucket sort); at the end each bucket
is read back, sorted by ``ts`` (stably, so equal timestamps keep generation order, which is
deterministic) and written out with sequential ids. Memory stays bounded by one bucket.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

__all__ = ["Timeline"]

_SPILL_AT = 200_000   # buffered lines across buckets before spilling to disk


class Timeline:
    """Collects ``(ts, encoded event)`` and writes them as sorted NDJSON with ids."""

    def __init__(self, start_ms: int, bucket_ms: int = 3_600_000,
                 scratch: Path | None = None) -> None:
        self.start = start_ms
        self.bucket_ms = bucket_ms
        # scratch space next to the output by default: a large run may not fit in /tmp
        self._tmp = tempfile.TemporaryDirectory(prefix=".seawall-sim-", dir=scratch)
        self._buffers: dict[int, list[bytes]] = {}
        self._buffered = 0
        self._spilled: set[int] = set()
        self.count = 0

    def add(self, ts: int, line: bytes) -> None:
        """Queue one encoded event (a JSON object without newline and without ``id``)."""
        b = (ts - self.start) // self.bucket_ms
        buf = self._buffers.get(b)
        if buf is None:
            buf = self._buffers[b] = []
        buf.append(b"%d\t%b\n" % (ts, line))
        self._buffered += 1
        self.count += 1
        if self._buffered >= _SPILL_AT:
            self._spill()

    def _path(self, bucket: int) -> Path:
        return Path(self._tmp.name) / f"{bucket:08d}.part"

    def _spill(self) -> None:
        for bucket, buf in self._buffers.items():
            if buf:
                with open(self._path(bucket), "ab") as fh:
                    fh.write(b"".join(buf))
                self._spilled.add(bucket)
        self._buffers = {}
        self._buffered = 0

    def write(self, path: Path, id_prefix: str = "e") -> int:
        """Write every event in ``ts`` order to ``path``; ids are ``<prefix><n>``; return n."""
        self._spill()
        n = 0
        prefix = id_prefix.encode()
        try:
            with open(path, "wb") as out:
                for bucket in sorted(self._spilled):
                    raw = self._path(bucket).read_bytes().splitlines()
                    keyed = [(int(line[: line.index(b"\t")]), line) for line in raw]
                    keyed.sort(key=lambda kv: kv[0])
                    chunk = []
                    for _, line in keyed:
                        body = line[line.index(b"\t") + 1:]
                        # The id goes last so the line reads type, ts, account first.
                        chunk.append(b'%b,"id":"%b%d"}\n' % (body[:-1], prefix, n))
                        n += 1
                    out.write(b"".join(chunk))
        finally:
            self._tmp.cleanup()
        return n

    def close(self) -> None:
        self._tmp.cleanup()
