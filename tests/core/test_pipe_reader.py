"""The server's output pipe, read on a thread: every byte arrives, in order, whatever the sizes."""

from __future__ import annotations

import asyncio
import os
import threading

from debugdash.core.pipe_reader import READ_SIZE, PipeReader


def test_every_byte_arrives_in_order_across_reads_of_every_size() -> None:
    # Lines numbered so that a lost, repeated or overwritten piece shows; written in bursts
    # of many sizes (a lone line, a full read and more).
    pieces = []
    number = 0
    for size in (1, 7, 300, READ_SIZE - 5, READ_SIZE, 3 * READ_SIZE + 11, 50, 2):
        text = bytearray()
        while len(text) < size:
            text += b"line %08d\n" % number
            number += 1
        pieces.append(bytes(text))
    expected = b"".join(pieces)

    async def main() -> bytes:
        read_fd, write_fd = os.pipe()
        reader = PipeReader(read_fd)

        def write() -> None:
            for piece in pieces:
                os.write(write_fd, piece) if len(piece) < 4096 else _write_all(write_fd, piece)
            os.close(write_fd)

        writer = threading.Thread(target=write)
        writer.start()
        # The loop takes nothing until the writer is done: the thread queues every read meanwhile.
        await asyncio.to_thread(writer.join)
        got = bytearray()
        while chunk := await reader.read():
            got += chunk
        return bytes(got)

    assert asyncio.run(main()) == expected


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
