#!/usr/bin/env python3
"""A real SMTP server for the e2e suites (aiosmtpd, Debian's
python3-aiosmtpd): every message it receives is written to DIR as
N.eml (the DATA as received) and N.env (JSON: mail_from, rcpt_tos).

    smtp_sink.py HOST PORT DIR

DIR/ready appears once it listens; SIGTERM stops it."""
import json
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out = out
        self.n = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.n += 1
            n = self.n
        base = os.path.join(self.out, str(n))
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".env", "w") as f:
            json.dump({"mail_from": envelope.mail_from,
                       "rcpt_tos": envelope.rcpt_tos}, f)
        # The .eml last: a reader that sees it sees the whole message.
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK"


def main():
    host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    ctl = Controller(Sink(out), hostname=host, port=port)
    ctl.start()
    open(os.path.join(out, "ready"), "w").close()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    done.wait()
    ctl.stop()


if __name__ == "__main__":
    main()
