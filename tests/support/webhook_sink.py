#!/usr/bin/env python3
"""An HTTP receiver for the notifier's webhooks (e2e): every POST is
written to DIR as N.json ({"path", "headers", "body"}) and answered by
its path:
    /ok      200
    /flaky   500 for the first two requests to it, then 200
    /fail    500, always

    webhook_sink.py HOST PORT DIR

DIR/ready appears once it listens."""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
count = {"all": 0, "/flaky": 0}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(n, 1 << 20)).decode("utf-8", "replace")
        with lock:
            count["all"] += 1
            k = count["all"]
            if self.path == "/flaky":
                count["/flaky"] += 1
            flaky = count["/flaky"]
        rec = {"path": self.path, "headers": dict(self.headers.items()),
               "body": body}
        out = self.server.out
        with open(os.path.join(out, "%d.json.tmp" % k), "w") as f:
            json.dump(rec, f)
        os.rename(os.path.join(out, "%d.json.tmp" % k),
                  os.path.join(out, "%d.json" % k))
        ok = self.path == "/ok" or (self.path == "/flaky" and flaky > 2)
        self.send_response(200 if ok else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    srv = ThreadingHTTPServer((host, port), Handler)
    srv.out = out
    open(os.path.join(out, "ready"), "w").close()
    srv.serve_forever()


if __name__ == "__main__":
    main()
