#!/usr/bin/env python3
"""many_http.py — the 200 services of bench/watch: one process, one asyncio loop, N tiny
HTTP listeners on 127.0.0.1. GET /health answers 200 "ok", anything else 404; one request
per connection (Connection: close), as a health check makes.
  python3 bench/many_http.py PORTFILE [N]   listens on N (default 200) free ports, writes
                                            them to PORTFILE (one a line) once all listen,
                                            serves until killed (SIGTERM); PORTFILE.count holds
                                            the requests answered so far, rewritten each second"""
import asyncio
import os
import signal
import sys


served = 0


async def handle(reader, writer):
    global served
    try:
        line = await asyncio.wait_for(reader.readline(), 5)
        while True:  # the request's headers, up to the empty line
            h = await asyncio.wait_for(reader.readline(), 5)
            if h in (b'\r\n', b'\n', b''):
                break
        ok = line.split(b' ')[1:2] == [b'/health']
        body = b'ok' if ok else b'not found'
        writer.write(b'HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n'
                     b'Connection: close\r\n\r\n%s' % (b'200 OK' if ok else b'404 Not Found', len(body), body))
        await writer.drain()
        served += 1
    except (asyncio.TimeoutError, ConnectionError, IndexError):
        pass
    finally:
        writer.close()


async def main(portfile, n):
    servers = [await asyncio.start_server(handle, '127.0.0.1', 0, backlog=64) for _ in range(n)]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    with open(portfile + '.tmp', 'w') as f:
        f.write(''.join('%d\n' % p for p in ports))
    os.rename(portfile + '.tmp', portfile)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    while not stop.done():
        with open(portfile + '.count.tmp', 'w') as f:
            f.write('%d\n' % served)
        os.rename(portfile + '.count.tmp', portfile + '.count')
        await asyncio.wait([stop], timeout=1)


if __name__ == '__main__':
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200))
