"""A TCP proxy that delays every chunk it forwards, each way, by the number
of milliseconds written in a file (read again for every chunk, so a test
changes the latency of open connections at run time). This kernel has no
netem; a slow link is made here instead.

    delayproxy.py LISTEN_HOST:PORT TARGET_HOST:PORT DELAY_FILE

Order is kept: each direction is a queue of (due time, bytes) drained by
one writer, so a chunk never overtakes an earlier one.
"""

import asyncio
import sys
import time


def delay_of(path):
    try:
        with open(path) as f:
            return max(0.0, float(f.read().strip() or 0) / 1000.0)
    except (OSError, ValueError):
        return 0.0


async def pipe(reader, writer, delay_file):
    queue = asyncio.Queue()

    async def drain():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    drainer = asyncio.create_task(drain())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            await queue.put((time.monotonic() + delay_of(delay_file), data))
    except (ConnectionError, OSError):
        pass
    await queue.put((0, None))
    try:
        await drainer
    except (ConnectionError, OSError):
        pass


async def main(listen, target, delay_file):
    lhost, lport = listen.rsplit(":", 1)
    thost, tport = target.rsplit(":", 1)

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(thost, int(tport))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, server_writer, delay_file),
                             pipe(server_reader, client_writer, delay_file))

    server = await asyncio.start_server(handle, lhost, int(lport))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    asyncio.run(main(*sys.argv[1:]))
