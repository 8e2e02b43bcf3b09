#!/usr/bin/python3
"""A fast SMTP sink for bench/delivery: accepts every message (250 to everything), keeps
nothing but counts. Listens on a free loopback port and prints "listening PORT"; then, once a
second, "stats connections=C messages=M unique=U" (U: distinct Message-IDs). A raw asyncio
protocol, not aiosmtpd, so that the sink's own CPU is small beside roster's; it speaks just
enough SMTP for libcurl (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT)."""
import asyncio
import signal
import sys

stats = {"connections": 0, "messages": 0}
ids = set()


class Sink(asyncio.Protocol):
    def connection_made(self, transport):
        stats["connections"] += 1
        self.t = transport
        self.buf = b""
        self.data = False
        self.msgid = None
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, chunk):
        self.buf += chunk
        out = []
        while True:
            i = self.buf.find(b"\r\n")
            if i < 0:
                break
            line = self.buf[:i]
            self.buf = self.buf[i + 2:]
            if self.data:
                if line == b".":
                    self.data = False
                    stats["messages"] += 1
                    if self.msgid:
                        ids.add(self.msgid)
                    self.msgid = None
                    out.append(b"250 OK queued\r\n")
                elif self.msgid is None and line[:11].lower() == b"message-id:":
                    self.msgid = line[11:].strip()
                continue
            cmd = line[:4].upper()
            if cmd == b"EHLO":
                out.append(b"250-sink\r\n250 8BITMIME\r\n")
            elif cmd == b"DATA":
                self.data = True
                out.append(b"354 go ahead\r\n")
            elif cmd == b"QUIT":
                out.append(b"221 bye\r\n")
                self.t.write(b"".join(out))
                self.t.close()
                return
            else:
                out.append(b"250 OK\r\n")
        if out:
            self.t.write(b"".join(out))


async def report(stop):
    while not stop.is_set():
        print(f"stats connections={stats['connections']} messages={stats['messages']} "
              f"unique={len(ids)}", flush=True)
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except asyncio.TimeoutError:
            pass


def main():
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(Sink, "127.0.0.1", 0))
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.run_until_complete(report(stop))
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
