"""A throwaway service-account key and a fake Google OAuth2 token endpoint on 127.0.0.1 (no network)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs


def private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def service_account_file(directory: Path, token_uri: str, project: str = "sa-project") -> Path:
    path = directory / "sa.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": project, "private_key_id": "kid-1",
        "private_key": private_key_pem(), "client_email": f"gateway@{project}.iam.gserviceaccount.com",
        "client_id": "1234567890", "token_uri": token_uri,
    }))
    return path


class FakeTokenEndpoint:
    """Answers the JWT-bearer and refresh-token grants with ``ya29.fake-<n>``; ``expires_in``, ``delay_s`` and ``fail`` are scriptable."""

    def __init__(self) -> None:
        self.grants: list[dict[str, Any]] = []
        self.expires_in = 3600
        self.delay_s = 0.0
        self.fail = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["content-length"])).decode())
                grant: dict[str, Any] = {"grant_type": form["grant_type"][0]}
                if "assertion" in form:  # a service account's signed JWT
                    _header, claims, _sig = form["assertion"][0].split(".")
                    grant["claims"] = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
                fake.grants.append(grant)
                time.sleep(fake.delay_s)
                if fake.fail:
                    body, status = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400
                else:
                    body = {"access_token": f"ya29.fake-{len(fake.grants)}", "expires_in": fake.expires_in,
                            "token_type": "Bearer"}
                    status = 200
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"

    @contextmanager
    def running(self) -> Iterator[FakeTokenEndpoint]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
