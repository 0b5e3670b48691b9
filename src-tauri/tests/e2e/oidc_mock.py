"""Loopback mock of AWS SSO-OIDC and the SSO portal (restJson1), for the real AWS CLI v2.

The CLI reaches it through endpoint-rule-set overrides in $HOME/.aws/models (see conftest.py).
Every secret it hands out (access/refresh tokens, client secrets, device and user codes,
verification URLs) carries this instance's random tag, so tests can grep any output for leaks.
"""

from __future__ import annotations

import collections
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

# /token behaviours (device-code grant; the refresh_token grant works in ok/flood only)
MODE_OK = "ok"          # `pending_polls` x AuthorizationPending, then a token
MODE_NEVER = "never"    # always AuthorizationPending: the login never completes
MODE_FAIL = "fail"      # AccessDeniedException: the CLI exits non-zero
MODE_FLOOD = "flood"    # like ok, but the verification URLs are several MB (the CLI prints them)
MODES = (MODE_OK, MODE_NEVER, MODE_FAIL, MODE_FLOOD)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class OidcMock:
    """Thread-backed HTTP server. Configure with attributes or `configure(...)` at any time."""

    def __init__(self, *, expires_in: int = 8 * 3600, pending_polls: int = 1, mode: str = MODE_OK,
                 interval: int = 1, flood_bytes: int = 4 * 1024 * 1024,
                 issue_refresh_token: bool = True, allow_refresh_grant: bool = True) -> None:
        self.tag = secrets.token_hex(6)  # makes every issued value unique to this mock
        self.expires_in = expires_in
        self.pending_polls = pending_polls
        self.mode = mode
        self.interval = interval  # seconds between CLI polls; 1 keeps logins ~1.5 s
        self.flood_bytes = flood_bytes
        self.issue_refresh_token = issue_refresh_token
        self.allow_refresh_grant = allow_refresh_grant  # False: every refresh_token grant is refused
        self.counts: collections.Counter[str] = collections.Counter()
        # kind -> issued values: access_token, refresh_token, client_id, client_secret,
        # device_code, user_code, verification_uri (the short marker, see _verification_marker)
        self.issued: dict[str, list[str]] = collections.defaultdict(list)
        self._polls: dict[str, int] = {}        # deviceCode -> CreateToken attempts so far
        self._devices: dict[str, str] = {}      # deviceCode -> clientId
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._seq = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> "OidcMock":
        mock = self

        class Handler(_Handler):
            owner = mock

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-mock", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "OidcMock":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "mock not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def configure(self, **kw) -> None:
        for key, value in kw.items():
            if not hasattr(self, key) or key.startswith("_"):
                raise AttributeError(f"unknown mock option {key}")
            setattr(self, key, value)
        assert self.mode in MODES, self.mode

    # ---- observations ----------------------------------------------------------------------
    def count(self, endpoint: str) -> int:
        with self._lock:
            return self.counts[endpoint]

    @property
    def logins(self) -> int:
        """One StartDeviceAuthorization per `aws sso login` run."""
        return self.count("device_authorization")

    def wait_for(self, endpoint: str, n: int = 1, timeout: float = 30.0) -> bool:
        """Block until `endpoint` was called at least n times (polls a condition, no blind sleep)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.counts[endpoint] < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def secrets(self) -> list[str]:
        """Every secret-ish value issued so far (search output for these)."""
        with self._lock:
            return [v for kind in ("access_token", "refresh_token", "client_secret", "device_code",
                                   "user_code", "verification_uri", "role_secret") for v in self.issued[kind]]

    @property
    def last_access_token(self) -> str | None:
        with self._lock:
            tokens = self.issued["access_token"]
            return tokens[-1] if tokens else None

    # ---- helpers used by the handler -------------------------------------------------------
    def _next(self, kind: str, fmt: str) -> str:
        # caller holds the lock
        self._seq += 1
        value = fmt.format(tag=self.tag, n=self._seq)
        self.issued[kind].append(value)
        return value

    def _hit(self, endpoint: str) -> None:
        with self._cond:
            self.counts[endpoint] += 1
            self._cond.notify_all()


class _Handler(BaseHTTPRequestHandler):
    owner: OidcMock
    server_version = "oidc-mock/1"

    def log_message(self, fmt, *args):  # keep pytest output quiet
        pass

    # ---- plumbing --------------------------------------------------------------------------
    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {}

    def _send(self, status: int, payload: dict, error_type: str | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if error_type:
            # botocore's restJson1 parser takes the error code from this header
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, error_type: str, oauth_error: str) -> None:
        self._send(status, {"error": oauth_error, "error_description": error_type}, error_type)

    # ---- routes ----------------------------------------------------------------------------
    def do_POST(self):  # noqa: N802 (http.server naming)
        path = urlparse(self.path).path
        body = self._body()
        route = {"/client/register": self._register, "/device_authorization": self._device_auth,
                 "/token": self._token}.get(path)
        if route is None:
            self.owner._hit("unknown")
            return self._error(404, "ResourceNotFoundException", "not_found")
        return route(body)

    def do_GET(self):  # noqa: N802
        path = urlparse(self.path).path
        if path == "/federation/credentials":
            return self._role_credentials()
        self.owner._hit("unknown")
        return self._error(404, "ResourceNotFoundException", "not_found")

    def _register(self, body: dict) -> None:
        m = self.owner
        m._hit("register")
        now = int(time.time())
        with m._lock:
            client_id = m._next("client_id", "e2eClientId-{tag}-{n}")
            client_secret = m._next("client_secret", "e2eClientSecret-{tag}-{n}")
        self._send(200, {"clientId": client_id, "clientSecret": client_secret,
                         "clientIdIssuedAt": now, "clientSecretExpiresAt": now + 90 * 86400})

    @staticmethod
    def _verification_marker(m: OidcMock) -> str:
        return m._next("verification_uri", "e2eVerify-{tag}-{n}")

    def _device_auth(self, body: dict) -> None:
        m = self.owner
        m._hit("device_authorization")
        with m._lock:
            device_code = m._next("device_code", "e2eDeviceCode-{tag}-{n}")
            user_code = m._next("user_code", "E2EUSER-{tag}-{n}")
            marker = self._verification_marker(m)
            m._polls[device_code] = 0
            m._devices[device_code] = body.get("clientId", "")
            flood = m.mode == MODE_FLOOD
            flood_bytes = m.flood_bytes
            interval = m.interval
        uri = f"https://device.sso.us-east-1.amazonaws.com/{marker}"
        if flood:
            # The CLI prints verificationUri (and, with --no-browser, verificationUriComplete):
            # several MB of stdout that the caller must drain or it deadlocks on a full pipe.
            uri += "?pad=" + "x" * flood_bytes
        self._send(200, {"deviceCode": device_code, "userCode": user_code,
                         "verificationUri": uri,
                         "verificationUriComplete": f"{uri}&user_code={user_code}" if flood
                         else f"{uri}?user_code={user_code}",
                         "expiresIn": 600, "interval": interval})

    def _token(self, body: dict) -> None:
        m = self.owner
        if body.get("grantType") == "refresh_token":
            # Silent renewal (botocore, or the binary's own SDK call). In the fail/never modes the
            # refresh token is refused too, so callers must fall back to `aws sso login`.
            m._hit("token_refresh")
            with m._lock:
                known = (body.get("refreshToken") in m.issued["refresh_token"]
                         and m.mode not in (MODE_FAIL, MODE_NEVER) and m.allow_refresh_grant)
                if known:
                    access = m._next("access_token", "e2eAccessToken-{tag}-{n}")
                    refresh = m._next("refresh_token", "e2eRefreshToken-{tag}-{n}")
                expires_in = m.expires_in
            if not known:
                return self._error(400, "InvalidGrantException", "invalid_grant")
            return self._send(200, {"accessToken": access, "tokenType": "Bearer",
                                    "expiresIn": expires_in, "refreshToken": refresh})

        m._hit("token")
        device_code = body.get("deviceCode")
        with m._lock:
            mode = m.mode
            if device_code not in m._polls:
                known = False
            else:
                known = True
                m._polls[device_code] += 1
                attempt = m._polls[device_code]
        if not known:
            return self._error(400, "InvalidGrantException", "invalid_grant")
        if mode == MODE_FAIL:
            return self._error(400, "AccessDeniedException", "access_denied")
        if mode == MODE_NEVER or attempt <= m.pending_polls:
            m._hit("token_pending")
            return self._error(400, "AuthorizationPendingException", "authorization_pending")
        with m._lock:
            access = m._next("access_token", "e2eAccessToken-{tag}-{n}")
            refresh = m._next("refresh_token", "e2eRefreshToken-{tag}-{n}") if m.issue_refresh_token else None
            expires_in = m.expires_in
            del m._polls[device_code]  # a device code is exchanged once
        m._hit("token_issued")
        reply = {"accessToken": access, "tokenType": "Bearer", "expiresIn": expires_in}
        if refresh:
            reply["refreshToken"] = refresh
        self._send(200, reply)

    def _role_credentials(self) -> None:
        m = self.owner
        m._hit("role_credentials")
        bearer = self.headers.get("x-amz-sso_bearer_token")
        with m._lock:
            ok = bearer in m.issued["access_token"]
            if ok:
                secret_key = m._next("role_secret", "e2eSecretAccessKey-{tag}-{n}")
                session_token = m._next("role_secret", "e2eSessionToken-{tag}-{n}")
                key_id = f"ASIAE2E{m._seq:013d}"
        if not ok:
            return self._error(401, "UnauthorizedException", "unauthorized")
        self._send(200, {"roleCredentials": {
            "accessKeyId": key_id, "secretAccessKey": secret_key, "sessionToken": session_token,
            "expiration": int((time.time() + 3600) * 1000)}})
