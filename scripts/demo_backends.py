#!/usr/bin/env python3
"""Real HTTP backends for the demo: one server per address on port 8080.
GET /healthz answers "ok" (200), except on addresses listed with --fail,
which answer 503. Runs until interrupted."""

import argparse
import http.server
import socketserver
import threading


def serve(addr, port, failing):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            code, body = (503, b"unavailable\n") if failing else (200, b"ok\n")
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = Server((addr, port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--fail", action="append", default=[])
    ap.add_argument("addresses", nargs="+")
    args = ap.parse_args()
    for a in args.addresses:
        serve(a, args.port, a in args.fail)
    threading.Event().wait()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
