"""A TCP proxy between counters and the server that misbehaves on request, as shop networks do:

- `drop()`: every open connection is reset at once (RST, not a polite close) — a Wi-Fi blip;
- `stall(seconds)`: nothing moves in either direction for a while, connections stay open — a
  congested uplink; requests in flight hit their read timeouts;
- `refuse(seconds)`: new connections are reset as soon as they are accepted — a router reboot;
- `lose_replies(seconds)`: requests reach the server, its answers never come back (the connection is
  reset when the answer arrives) — the server did the work, the counter cannot know it.

Plain threads and sockets: one thread accepts, one per connection pumps both directions."""

from __future__ import annotations

import select
import socket
import struct
import threading
import time

from .server import free_port


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close → RST
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class FaultProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1", port: int | None = None):
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self._lock = threading.Lock()
        self._conns: set[tuple[socket.socket, socket.socket]] = set()
        self._stalled_until = 0.0
        self._refusing_until = 0.0
        self._losing_until = 0.0
        self._closing = False
        self.counts = {"connections": 0, "dropped": 0, "refused": 0, "stalls": 0, "replies lost": 0}
        self._listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    # --- faults ------------------------------------------------------------------------------------
    def drop(self) -> int:
        with self._lock:
            conns, self._conns = self._conns, set()
        for a, b in conns:
            _reset(a)
            _reset(b)
        self.counts["dropped"] += len(conns)
        return len(conns)

    def stall(self, seconds: float) -> None:
        self._stalled_until = time.monotonic() + seconds
        self.counts["stalls"] += 1

    def refuse(self, seconds: float) -> None:
        self._refusing_until = time.monotonic() + seconds
        self.drop()

    def lose_replies(self, seconds: float) -> None:
        self._losing_until = time.monotonic() + seconds

    def heal(self) -> None:
        self._stalled_until = self._refusing_until = self._losing_until = 0.0

    def close(self) -> None:
        self._closing = True
        try:
            self._listener.close()
        except OSError:
            pass
        self.drop()

    # --- plumbing ----------------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if time.monotonic() < self._refusing_until:
                self.counts["refused"] += 1
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=3)
            except OSError:
                _reset(client)  # the server is down: the counter sees the connection fail
                continue
            pair = (client, upstream)
            with self._lock:
                self._conns.add(pair)
            self.counts["connections"] += 1
            threading.Thread(target=self._pump, args=(pair,), name="fault-proxy-conn", daemon=True).start()

    def _pump(self, pair: tuple[socket.socket, socket.socket]) -> None:
        client, upstream = pair
        peer = {client: upstream, upstream: client}
        try:
            while True:
                with self._lock:
                    if pair not in self._conns:
                        return  # dropped
                if time.monotonic() < self._stalled_until:
                    time.sleep(0.05)
                    continue
                readable, _, _ = select.select([client, upstream], [], [], 0.1)
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is upstream and time.monotonic() < self._losing_until:
                        self.counts["replies lost"] += 1
                        with self._lock:
                            self._conns.discard(pair)
                        _reset(client)
                        _reset(upstream)
                        return
                    peer[s].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                gone = pair in self._conns
                self._conns.discard(pair)
            if gone:
                for s in pair:
                    try:
                        s.close()
                    except OSError:
                        pass
