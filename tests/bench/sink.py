"""A bare HTTP/1.1 sink on loopback: reads request bodies and discards them.

The peer of a Relay upload: what the loopback, the client and one Python process reading a
socket can do with no framework, no storage and no database. Run it as
`python -m tests.bench.sink`; it prints its port on the first line of stdout.
"""

from __future__ import annotations

import socket
import sys
import threading

_BUFFER = 1024 * 1024
_RESPONSE = b"HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n"


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    # The benchmark always sends Content-Length; a chunked body is not worth parsing here.
    raise ValueError("request without Content-Length")


def _serve(conn: socket.socket) -> None:
    buffer = bytearray(_BUFFER)
    view = memoryview(buffer)
    pending = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in pending:
                data = conn.recv(65536)
                if not data:
                    return
                pending += data
            head, _, rest = pending.partition(b"\r\n\r\n")
            remaining = _content_length(head) - len(rest)
            pending = b""
            while remaining > 0:
                got = conn.recv_into(view, min(remaining, _BUFFER))
                if not got:
                    return
                remaining -= got
            conn.sendall(_RESPONSE)


def main() -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
