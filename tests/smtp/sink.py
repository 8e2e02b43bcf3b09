#!/usr/bin/python3
"""A real SMTP server for roster's delivery tests (aiosmtpd, Debian python3-aiosmtpd).

Listens on a free loopback port, prints "listening PORT" on stdout, and appends one JSON
line per accepted message to --out: {"rcpt", "from", "message_id", "subject", "text", "html" (the decoded parts),
"content_type", "date", "to", "header_from", "header_names"}.
Answers RCPT with a temporary 451 for recipients whose local part starts with --temp
(the first --temp-times times each, then 250), a permanent 550 for those starting with
--reject, and 250 otherwise. Each SMTP session (EHLO/HELO) adds one line {"session": n}
to --out, so a test can count connections, and each RCPT a line {"rcpt_try": address}. Stops on SIGTERM.
With --light an accepted message's line is only {"rcpt", "message_id"} (its header read
without parsing the MIME body), for tests of many thousands of messages.
"""
import argparse
import asyncio
import email
import email.policy
import json
import re
import signal
import sys

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, out, temp, temp_times, reject, light=False):
        self.light = light
        self.out = out
        self.temp = temp
        self.temp_times = temp_times
        self.reject = reject
        self.tries = {}
        self.sessions = 0

    def write(self, obj):
        self.out.write(json.dumps(obj) + "\n")
        self.out.flush()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        self.write({"session": self.sessions})
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        self.write({"rcpt_try": address})
        if self.reject and local.startswith(self.reject):
            return "550 5.1.1 mailbox unavailable"
        if self.temp and local.startswith(self.temp):
            n = self.tries.get(address, 0) + 1
            self.tries[address] = n
            if n <= self.temp_times:
                return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.light:
            head = envelope.content.split(b"\r\n\r\n", 1)[0]
            m = re.search(rb"(?im)^message-id:[ \t]*(\S+)", head)
            mid = m.group(1).decode("ascii", "replace") if m else ""
            for rcpt in envelope.rcpt_tos:
                self.write({"rcpt": rcpt, "message_id": mid})
            return "250 Message accepted for delivery"
        raw = envelope.content.decode("utf-8", "replace")
        msg = email.message_from_string(raw, policy=email.policy.default)
        for rcpt in envelope.rcpt_tos:
            self.write({
                "rcpt": rcpt,
                "from": envelope.mail_from,
                "message_id": str(msg.get("Message-ID", "")),
                "subject": str(msg.get("Subject", "")),
                "text": msg.get_body(("plain",)).get_content(),
                "html": msg.get_body(("html",)).get_content(),
                "content_type": msg.get_content_type(),
                "date": str(msg.get("Date", "")),
                "to": str(msg.get("To", "")),
                "header_from": str(msg.get("From", "")),
                "header_names": list(msg.keys()),
            })
        return "250 Message accepted for delivery"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--temp", default="")
    ap.add_argument("--temp-times", type=int, default=2)
    ap.add_argument("--reject", default="")
    ap.add_argument("--light", action="store_true")
    args = ap.parse_args()
    out = open(args.out, "a", encoding="utf-8")
    handler = Handler(out, args.temp, args.temp_times, args.reject, args.light)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, hostname="roster-test-sink", data_size_limit=10 * 1024 * 1024),
        "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.run_until_complete(stop.wait())
    server.close()
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
