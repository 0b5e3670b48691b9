"""A loopback stand-in for AWS Sign-In, the service `aws login` (AWS CLI 2.32 and later) talks to:
`GET /v1/authorize` (PKCE, S256 challenge without its padding, as the CLI sends it), the remote
flow's confirmation page that shows the code a person pastes back, and `POST /v1/token`
(CreateOAuth2Token: an authorization code and its verifier for credentials, a refresh token and
an ID token whose `sub` is the login session)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

LOGIN_SESSION = "arn:aws:sts::123456789012:assumed-role/Admin/e2e-user"


def point_cli_at(home, url: str, cli_root) -> None:
    """Sends the AWS CLI's AWS Sign-In client to `url`: botocore reads ~/.aws/models first, and
    the rule set keeps the parameters of the one in the CLI installed under `cli_root`."""
    import pathlib
    data = next(pathlib.Path(cli_root).glob("aws-cli/v2/*/lib/python3*/site-packages/awscli/botocore/data/signin"))
    version = sorted(p.name for p in data.iterdir() if p.is_dir())[-1]
    original = json.loads((data / version / "endpoint-rule-set-1.json").read_text())
    ruleset = {"version": original.get("version", "1.0"), "parameters": original["parameters"],
               "rules": [{"conditions": [], "type": "endpoint",
                          "endpoint": {"url": url, "properties": {}, "headers": {}}}]}
    dst = pathlib.Path(home) / ".aws" / "models" / "signin" / version
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "endpoint-rule-set-1.json").write_text(json.dumps(ruleset))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SigninMock:
    def __init__(self, expires_in: int = 900, login_session: str = LOGIN_SESSION) -> None:
        self.expires_in = expires_in
        self.login_session = login_session
        self.tag = secrets.token_hex(4)
        self._lock = threading.Lock()
        self._codes: dict[str, dict] = {}        # code -> {challenge, redirect_uri, client_id}
        self.authorized: list[dict] = []          # query of each /v1/authorize
        self.tokens: list[dict] = []              # each CreateOAuth2Token body (secrets included)
        self.refused: list[str] = []
        self.issued: dict[str, list[str]] = {"secret": [], "pasted_code": [], "link": []}
        self._server: ThreadingHTTPServer | None = None

    # ---- lifecycle --------------------------------------------------------------------------
    def start(self) -> "SigninMock":
        owner = self

        class Handler(_Handler):
            mock = owner
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def secrets(self) -> list[str]:
        """Everything issued that must never be shown: keys, tokens, codes."""
        with self._lock:
            return list(self.issued["secret"])


class _Handler(BaseHTTPRequestHandler):
    mock: SigninMock

    def log_message(self, fmt, *args):
        pass

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict, error_type: str | None = None) -> None:
        headers = {"x-amzn-ErrorType": error_type} if error_type else None
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def do_GET(self):  # noqa: N802
        m = self.mock
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == "/v1/authorize":
            with m._lock:
                m.authorized.append(query)
                m.issued["link"].append(self.path)
                code = f"e2eAuthCode-{m.tag}-{len(m.authorized)}"
                m.issued["secret"].append(code)
                m._codes[code] = {"challenge": query.get("code_challenge", ""),
                                  "redirect_uri": query.get("redirect_uri", ""),
                                  "client_id": query.get("client_id", "")}
            # A person signed in: back to the client with the code and its state.
            target = f"{query.get('redirect_uri', '')}?{urlencode({'code': code, 'state': query.get('state', '')})}"
            return self._send(302, b"", "text/plain", {"Location": target})
        if url.path == "/v1/sessions/confirmation":
            # The remote flow's last page: the code to paste into the CLI.
            pasted = base64.b64encode(urlencode({"code": query.get("code", ""),
                                                  "state": query.get("state", "")}).encode()).decode()
            with m._lock:
                m.issued["pasted_code"].append(pasted)
                m.issued["secret"].append(pasted)
            page = f"<html><body><p>Paste this code into the CLI:</p><code id='code'>{html.escape(pasted)}</code></body></html>"
            return self._send(200, page.encode(), "text/html")
        self._json(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        m = self.mock
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if urlparse(self.path).path != "/v1/token":
            return self._json(404, {"error": "not found"})
        with m._lock:
            m.tokens.append(body)
        if body.get("grantType") != "authorization_code":
            # get_base_sign_in_uri's probe sends blanks; the CLI ignores the answer.
            return self._json(400, {"error": "invalid_request"}, "ValidationException")
        with m._lock:
            grant = m._codes.pop(body.get("code", ""), None)
        verifier = body.get("codeVerifier", "")
        expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()[:-1]
        if (grant is None or grant["challenge"] != expected
                or body.get("redirectUri") != grant["redirect_uri"]
                or body.get("clientId") != grant["client_id"]):
            with m._lock:
                m.refused.append(body.get("code", ""))
            return self._json(400, {"error": "AUTHCODE_EXPIRED", "message": "bad grant"}, "AccessDeniedException")
        with m._lock:
            n = len(m.tokens)
            key_id = f"ASIAE2E{m.tag.upper()}{n:04d}"
            secret = f"e2eConsoleSecret-{m.tag}-{n}"
            session_token = f"e2eConsoleSession-{m.tag}-{n}"
            refresh = f"e2eConsoleRefresh-{m.tag}-{n}"
            m.issued["secret"] += [secret, session_token, refresh]
            expires_in = m.expires_in
            login_session = m.login_session
        id_token = ".".join([b64url(b'{"alg":"none"}'),
                             b64url(json.dumps({"sub": login_session, "iat": int(time.time())}).encode()),
                             b64url(b"sig")])
        self._json(200, {"accessToken": {"accessKeyId": key_id, "secretAccessKey": secret,
                                         "sessionToken": session_token},
                         "tokenType": "urn:aws:params:oauth:token-type:access_token_sigv4",
                         "expiresIn": expires_in, "refreshToken": refresh, "idToken": id_token})
