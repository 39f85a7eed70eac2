"""The File API's ``Blob`` as a Python ``bytes``: binary messages when binaryType is "blob".

The browser's default ``binaryType`` is "blob", so JavaScript-style code reads binary
messages with ``await event.data.arrayBuffer()``, ``.text()``, ``.size``... A pyws
:class:`Blob` *is* a ``bytes`` (a subclass), so Python code can use it directly
(``event.data[:4]``, ``len(event.data)``, ``event.data == b"..."``) while the Blob
methods keep ported JavaScript working. "arraybuffer" gives plain ``bytes``.
"""

from __future__ import annotations

__all__ = ["Blob"]


class Blob(bytes):
    """Immutable binary data with the Blob interface (File API section 3)."""

    #: The MIME type (always "" for WebSocket messages, as in the browser).
    type: str

    def __new__(cls, data: bytes | bytearray | memoryview = b"", type: str = "") -> Blob:
        self = super().__new__(cls, data)
        self.type = type.lower() if type.isascii() else ""
        return self

    @property
    def size(self) -> int:
        """The size in bytes."""
        return len(self)

    async def arrayBuffer(self) -> bytes:
        """The contents as ``bytes`` (JavaScript's ArrayBuffer)."""
        return bytes(self)

    async def bytes(self) -> bytes:
        """The contents as ``bytes`` (JavaScript's Uint8Array)."""
        return bytes(self)

    async def text(self) -> str:
        """The contents decoded as UTF-8 (invalid sequences become U+FFFD)."""
        return bytes(self).decode("utf-8", "replace")

    def slice(self, start: int = 0, end: int | None = None, contentType: str = "") -> Blob:
        """A new Blob with bytes ``start`` to ``end`` (negative values count from the end)."""
        return Blob(bytes(self)[start:end], contentType)

    def __repr__(self) -> str:
        return f"<Blob size={len(self)} type={self.type!r}>"
