#!/usr/bin/env python3
"""Serve a directory over HTTPS on 127.0.0.1 (a hostile Notary server for tests).

Usage: static-tls-server.py DIR CERT KEY [FORWARD_URL CA]
Prints the chosen port on the first line of stdout, then serves GET requests for files below
DIR (404 otherwise) until it is killed. Loopback only; never follows paths outside DIR.
Every POST's path is appended to DIR/posts.log (so tests can assert that nothing was sent).
POST is refused with 501 — or, with FORWARD_URL (an https://127.0.0.1:PORT server) and its CA,
forwarded there and then the client's connection is dropped without an answer: the server
accepted, the client never learns it.
"""
import http.client
import http.server
import os
import ssl
import sys
import urllib.parse


def main() -> None:
    root, cert, key = sys.argv[1:4]
    forward = sys.argv[4:6] if len(sys.argv) >= 6 else None
    root = os.path.realpath(root)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            path = os.path.realpath(os.path.join(root, self.path.split("?")[0].lstrip("/")))
            if not path.startswith(root + os.sep) or not os.path.isfile(path):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            with open(path, "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
            with open(os.path.join(root, "posts.log"), "a", encoding="utf-8") as log:
                log.write(self.path + "\n")
            if not forward:
                self.send_error(501)
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            url = urllib.parse.urlsplit(forward[0])
            if url.hostname not in ("127.0.0.1", "localhost"):
                raise SystemExit("forwarding only to loopback")
            ctx = ssl.create_default_context(cafile=forward[1])
            conn = http.client.HTTPSConnection(url.hostname, url.port, context=ctx, timeout=30)
            conn.request("POST", self.path, body, {"Content-Type": self.headers["Content-Type"]})
            conn.getresponse().read()
            conn.close()
            # Drop the client's connection without an answer.
            self.close_connection = True
            self.connection.shutdown(2)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
