"""Loopback mock of AWS SSO-OIDC, the SSO portal (restJson1) and STS GetCallerIdentity (query/XML),
for the real AWS CLI v2 and for the binary's own SDK call.

The CLI reaches it through endpoint-rule-set overrides in $HOME/.aws/models (see conftest.py); the
binary through AWS_ENDPOINT_URL_SSO_OIDC.
Every secret it hands out (access/refresh tokens, client secrets, device and user codes,
verification URLs) carries this instance's random tag, so tests can grep any output for leaks.

The OIDC side is strict the way the real service is:
- a refresh_token grant needs a registered clientId with its own clientSecret (else
  InvalidClientException), and a refresh token issued to that client and not yet exchanged (else
  InvalidGrantException). With `rotate_refresh_tokens` (default) each exchange returns a new refresh
  token and the old one is spent; without it no refresh token comes back and the old one stays live.
- access tokens are accepted by GetRoleCredentials until they expire or are revoked.
Every refresh grant is recorded in `refresh_grants` (who sent it, what it carried, the outcome).

Both sign-in flows of the AWS CLI are served, as AWS CLI 2.36.7 drives them
(awscli/botocore/utils.py SSOTokenFetcher / SSOTokenFetcherAuth, awscli/customizations/sso/utils.py):
- device code: RegisterClient, StartDeviceAuthorization, CreateToken(grantType device_code) polled.
  With `require_approval` the code is granted only once a person approved its user code
  (`approve_user_code`, or `POST /device/approve` as the stand-in browser does); never by itself.
- authorization code with PKCE: RegisterClient with `grantTypes` (authorization_code, refresh_token),
  `redirectUris` (http://127.0.0.1/oauth/callback) and `issuerUrl`; the browser's
  `GET /authorize?response_type=code&client_id&redirect_uri&state&code_challenge_method=S256&scopes&code_challenge`
  answered `302` to `redirect_uri?code=...&state=...`; then CreateToken(grantType authorization_code,
  code, codeVerifier, redirectUri), whose verifier must hash (S256) to the challenge. Every step is
  recorded (`registrations`, `authorize_requests`, `code_grants`, `approvals`).
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse
import urllib.error
import urllib.request
from xml.sax.saxutils import escape

# /token behaviours (device-code grant; the refresh_token grant works in ok/flood only)
MODE_OK = "ok"          # `pending_polls` x AuthorizationPending, then a token
MODE_NEVER = "never"    # always AuthorizationPending: the login never completes
MODE_FAIL = "fail"      # AccessDeniedException: the CLI exits non-zero
MODE_FLOOD = "flood"    # like ok, but the verification URLs are several MB (the CLI prints them)
MODES = (MODE_OK, MODE_NEVER, MODE_FAIL, MODE_FLOOD)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CODE_GRANT = "authorization_code"
# Where the AWS CLI's loopback callback server listens (AuthCodeFetcher): registered without its
# port, sent with it (RFC 8252 loopback redirects may differ in port only).
CLI_REDIRECT = re.compile(r"^http://127\.0\.0\.1(:\d{1,5})?/oauth/callback$")
PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")   # base64url(sha256), without its '='
# The device flow's verification host; the stand-in browser resolves it to the mock.
DEVICE_HOST = re.compile(r"^device\.sso\.[a-z0-9-]+\.amazonaws\.com$")


def _without_port(url: str) -> str:
    return re.sub(r"^(http://127\.0\.0\.1):\d+", r"\1", url)


def follow_sign_in_link(url: str, mock_url: str, *, code: str | None = None, via: str = "person",
                        timeout: float = 30.0) -> str:
    """Does with a sign-in link what a person in a browser on this machine does, and says what
    happened (a short phrase; "approved" and "returned to the CLI" are the successes):
    - a device-flow link (https://device.sso.<region>.amazonaws.com/..., reached at the mock as if
      DNS led there): opens the page and confirms the code (the link's `user_code`, else `code`,
      as typed from the terminal) with `POST /device/approve`;
    - a PKCE authorize link on the mock, or on a loopback AWS Sign-In stand-in (`/v1/authorize`,
      the same-device flow of `aws login`): opens it, and follows its 302 to the AWS CLI's
      loopback callback (http://127.0.0.1:<port>/oauth/callback), as the browser would.
    Any other link is not visited ("not an expected sign-in host")."""
    import http.client

    parsed = urlparse(url)
    mock = urlparse(mock_url)
    query = parse_qs(parsed.query)
    if parsed.scheme == "https" and DEVICE_HOST.match(parsed.hostname or ""):
        page = f"{mock_url}{parsed.path}" + (f"?{parsed.query}" if parsed.query else "")
        with urllib.request.urlopen(page, timeout=timeout) as r:
            r.read()
        user_code = (query.get("user_code") or [code or ""])[0]
        if not user_code:
            return "no code to enter"
        data = urlencode({"user_code": user_code, "via": via}).encode()
        try:
            with urllib.request.urlopen(f"{mock_url}/device/approve", data=data, timeout=timeout) as r:
                r.read()
        except urllib.error.HTTPError as e:
            return f"code refused ({e.code})"
        return "approved"
    on_mock = (parsed.scheme, parsed.netloc) == (mock.scheme, mock.netloc) and parsed.path == "/authorize"
    on_signin = (parsed.scheme, parsed.hostname) == ("http", "127.0.0.1") and parsed.path == "/v1/authorize"
    if on_mock or on_signin:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
        try:
            conn.request("GET", f"{parsed.path}?{parsed.query}")
            resp = conn.getresponse()
            resp.read()
            location = resp.getheader("Location") or ""
        finally:
            conn.close()
        if resp.status != 302:
            return f"stayed on the authorize page ({resp.status})"
        target = urlparse(location)
        if not CLI_REDIRECT.match(f"{target.scheme}://{target.netloc}{target.path}"):
            return "redirected somewhere other than the CLI's loopback"
        try:
            with urllib.request.urlopen(location, timeout=timeout) as r:
                r.read()
        except OSError as e:
            return f"the CLI's loopback did not answer ({e.__class__.__name__})"
        return "returned to the CLI" + (" with an error" if "error" in parse_qs(target.query) else "")
    return "not an expected sign-in host"


class OidcMock:
    """Thread-backed HTTP server. Configure with attributes or `configure(...)` at any time."""

    def __init__(self, *, expires_in: int = 8 * 3600, pending_polls: int = 1, mode: str = MODE_OK,
                 interval: int = 1, flood_bytes: int = 4 * 1024 * 1024,
                 issue_refresh_token: bool = True, allow_refresh_grant: bool = True,
                 rotate_refresh_tokens: bool = True, refresh_delay: float = 0.0,
                 refresh_barrier: int = 0, refresh_barrier_timeout: float = 15.0,
                 refresh_priority: tuple[str, ...] = (), refresh_gap: float = 0.7,
                 refresh_answer_delay: dict[str, float] | None = None,
                 refresh_error_echo: bool = False, session_seconds: float | None = None,
                 require_approval: bool = False) -> None:
        self.tag = secrets.token_hex(6)  # makes every issued value unique to this mock
        # Device flow: False (the old default) grants a token after `pending_polls`; True grants it
        # only once the user code was approved (approve_user_code / POST /device/approve), as a
        # person does on the verification page.
        self.require_approval = require_approval
        # One dict per approval: user_code, via, pending_polls_before (polls answered "pending"
        # for that code before it was approved: > 0 proves the CLI was already waiting), at.
        self.approvals: list[dict] = []
        # RegisterClient bodies as sent (clientName, clientType, scopes, grantTypes, redirectUris,
        # issuerUrl), with the user agent.
        self.registrations: list[dict] = []
        # One dict per GET /authorize: the query (one value per key), outcome ("redirected",
        # "denied", "held" (mode never: the person never confirms) or "rejected: <why>"), location.
        self.authorize_requests: list[dict] = []
        # One dict per CreateToken(authorization_code): the body's fields (no secrets' values
        # beyond what the test already knows) and outcome ("ok", "invalid_client",
        # "invalid_grant: <why>").
        self.code_grants: list[dict] = []
        self._user_codes: dict[str, str] = {}   # userCode -> deviceCode
        self._approved: set[str] = set()        # approved deviceCodes
        self._registered: dict[str, dict] = {}  # clientId -> RegisterClient body
        self._auth_codes: dict[str, dict] = {}  # code -> {"client_id", "redirect_uri", "challenge", "used"}
        self.expires_in = expires_in
        self.pending_polls = pending_polls
        self.mode = mode
        self.interval = interval  # seconds between CLI polls; 1 keeps logins ~1.5 s
        self.flood_bytes = flood_bytes
        self.issue_refresh_token = issue_refresh_token
        self.allow_refresh_grant = allow_refresh_grant  # False: every refresh_token grant is refused
        # True: each refresh grant returns a new refresh token and spends the old one (single use).
        # False: no refresh token comes back and the old one stays usable.
        self.rotate_refresh_tokens = rotate_refresh_tokens
        # Timing of refresh grants, to make overlapping callers deterministic:
        # - refresh_barrier N > 0: a refresh grant is held until N refresh grants have arrived in
        #   total (or refresh_barrier_timeout passed), so N callers are provably in flight together;
        # - then it waits refresh_delay seconds, plus refresh_gap x its rank in refresh_priority
        #   (user-agent substrings, e.g. ("aws-cli", "aws-sdk-rust"): the first listed is served
        #   first; unlisted callers rank last), and only then is the refresh token checked and spent.
        self.refresh_delay = refresh_delay
        self.refresh_barrier = refresh_barrier
        self.refresh_barrier_timeout = refresh_barrier_timeout
        self.refresh_priority = tuple(refresh_priority)
        self.refresh_gap = refresh_gap
        # {user-agent substring: seconds}: hold the answer this long AFTER the grant was decided (the
        # refresh token is already spent), e.g. so the winner hears back after the loser's refusal.
        self.refresh_answer_delay = dict(refresh_answer_delay or {})
        # True: a hostile or buggy endpoint. Every refresh grant is refused (outcome "echoed", the
        # refresh token stays live) with an error code (x-amzn-ErrorType) that IS the refresh token
        # sent, and a message and error fields that echo it and the client secret.
        self.refresh_error_echo = refresh_error_echo
        # The IAM Identity Center sign-in session (one user, so one at a time): a sign-in starts
        # one unless one is live, and a sign-in during a live session keeps its start. Refresh
        # grants are refused (InvalidGrantException) once their session is over: session_seconds
        # after its start (None: never), or signed out (POST /logout, the SSO portal's Logout).
        self.session_seconds = session_seconds
        self.sessions: list[dict] = []           # {"start": time.time(), "logged_out": bool}
        self._current_session: int | None = None
        self.logouts: list[dict] = []            # {"bearer", "known"}
        self.register_agents: list[str] = []     # User-Agent of each RegisterClient (which CLI)
        # A threading.Event: each Logout is held (after it is recorded as arrived in
        # `logouts_arrived`, before it is decided) until the event is set, or logout_gate_timeout
        # passed. None (default): Logout answers at once.
        self.logout_gate: threading.Event | None = None
        self.logout_gate_timeout = 30.0
        self.logouts_arrived = 0
        # One dict per refresh grant: agent ("cli"/"tray"/"other"), user_agent, client_id,
        # refresh_token, outcome ("ok"/"invalid_grant"/"invalid_client"/"refused"/"echoed"),
        # access_token/refresh_token_issued (when ok), arrived/decided/answered (monotonic times).
        self.refresh_grants: list[dict] = []
        self.max_refresh_in_flight = 0
        # Bearer tokens GetRoleCredentials saw, with the account/role asked for and the outcome.
        self.role_requests: list[dict] = []
        # STS calls: action, access key id, whether the key and session token were ones we issued.
        self.sts_requests: list[dict] = []
        self.counts: collections.Counter[str] = collections.Counter()
        # kind -> issued values: access_token, refresh_token, client_id, client_secret,
        # device_code, user_code, verification_uri (the short marker, see _verification_marker),
        # auth_code, pkce_state, code_challenge (from the authorize links a browser opened),
        # code_verifier (from the CLI's CreateToken)
        self.issued: dict[str, list[str]] = collections.defaultdict(list)
        self._polls: dict[str, int] = {}        # deviceCode -> CreateToken attempts so far
        self._devices: dict[str, str] = {}      # deviceCode -> clientId
        self._clients: dict[str, str] = {}      # clientId -> clientSecret (registered clients)
        self._refresh_tokens: dict[str, dict] = {}  # refresh token -> {"client_id", "spent"}
        self._access: dict[str, dict] = {}      # access token -> {"expires", "revoked"}
        self._role_keys: dict[str, dict] = {}   # access key id -> {"session_token", "account", "role"}
        self._refresh_in_flight = 0
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

    @property
    def sign_ins(self) -> int:
        """Sign-ins that reached the user's side of the service: device authorizations started
        plus authorize pages a browser opened (PKCE)."""
        return self.count("device_authorization") + self.count("authorize")

    def approve_user_code(self, user_code: str, via: str = "test") -> bool:
        """A person confirms `user_code` on the verification page. False for an unknown code.
        Call it only once the code was shown to the user (terminal, browser, window)."""
        with self._cond:
            device_code = self._user_codes.get(user_code)
            if device_code is None:
                return False
            self._approved.add(device_code)
            self.approvals.append({"user_code": user_code, "via": via, "at": time.monotonic(),
                                   "pending_polls_before": self._polls.get(device_code, 0)})
            self.counts["approved"] += 1
            self._cond.notify_all()
        return True

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
                                   "user_code", "verification_uri", "role_secret", "auth_code",
                                   "pkce_state", "code_challenge", "code_verifier") for v in self.issued[kind]]

    @property
    def last_access_token(self) -> str | None:
        with self._lock:
            tokens = self.issued["access_token"]
            return tokens[-1] if tokens else None

    @property
    def last_refresh_token(self) -> str | None:
        with self._lock:
            tokens = self.issued["refresh_token"]
            return tokens[-1] if tokens else None

    def refresh_token_state(self, token: str) -> str:
        """"live" (exchangeable), "spent" (already exchanged) or "unknown" (never issued)."""
        with self._lock:
            info = self._refresh_tokens.get(token)
            return "unknown" if info is None else ("spent" if info["spent"] else "live")

    def access_token_accepted(self, token: str) -> bool:
        """Whether GetRoleCredentials would accept this bearer token now."""
        with self._lock:
            return self._access_ok(token)

    def grants(self, outcome: str | None = None, agent: str | None = None) -> list[dict]:
        """Recorded refresh grants, optionally filtered by outcome and agent."""
        with self._lock:
            return [dict(g) for g in self.refresh_grants
                    if (outcome is None or g["outcome"] == outcome)
                    and (agent is None or g["agent"] == agent)]

    # ---- seeding (a "previous login" without running the CLI) ------------------------------
    def register_client(self) -> tuple[str, str]:
        """What RegisterClient would hand out; the client is known to the mock from now on."""
        with self._lock:
            client_id = self._next("client_id", "e2eClientId-{tag}-{n}")
            client_secret = self._next("client_secret", "e2eClientSecret-{tag}-{n}")
            self._clients[client_id] = client_secret
        return client_id, client_secret

    def issue_tokens(self, client_id: str, expires_in: int, refresh: bool = True) -> tuple[str, str | None]:
        """An access token (valid expires_in seconds) and, if asked, a refresh token for client_id,
        as a sign-in would give them (in the live session, or a new one)."""
        with self._lock:
            sid = self._sign_in_session()
            access = self._issue_access(expires_in, sid)
            token = self._issue_refresh(client_id, sid) if refresh else None
        return access, token

    def session_live(self, sid: int | None) -> bool:
        # caller holds the lock (or accepts a racy read)
        if sid is None:
            return True
        s = self.sessions[sid]
        return not s["logged_out"] and (self.session_seconds is None
                                        or time.time() < s["start"] + self.session_seconds)

    def _sign_in_session(self) -> int:
        # caller holds the lock
        sid = self._current_session
        if sid is None or not self.session_live(sid):
            self.sessions.append({"start": time.time(), "logged_out": False})
            sid = self._current_session = len(self.sessions) - 1
        return sid

    def revoke_access_token(self, token: str) -> None:
        with self._lock:
            if token in self._access:
                self._access[token]["revoked"] = True

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

    def _issue_access(self, expires_in: int, session: int | None = None) -> str:
        # caller holds the lock
        token = self._next("access_token", "e2eAccessToken-{tag}-{n}")
        self._access[token] = {"expires": time.time() + expires_in, "revoked": False,
                               "session": session}
        return token

    def _issue_refresh(self, client_id: str, session: int | None = None) -> str:
        # caller holds the lock
        token = self._next("refresh_token", "e2eRefreshToken-{tag}-{n}")
        self._refresh_tokens[token] = {"client_id": client_id, "spent": False, "session": session}
        return token

    def _access_ok(self, token: str | None) -> bool:
        # caller holds the lock
        info = self._access.get(token or "")
        return info is not None and not info["revoked"] and info["expires"] > time.time()


class _Handler(BaseHTTPRequestHandler):
    owner: OidcMock
    server_version = "oidc-mock/1"

    def log_message(self, fmt, *args):  # keep pytest output quiet
        pass

    # ---- plumbing --------------------------------------------------------------------------
    def _raw(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    @staticmethod
    def _json(raw: bytes) -> dict:
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

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
        raw = self._raw()
        if path == "/" and "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            return self._sts(raw)
        if path == "/logout":
            return self._logout()
        if path == "/device/approve":
            return self._approve(raw)
        route = {"/client/register": self._register, "/device_authorization": self._device_auth,
                 "/token": self._token}.get(path)
        if route is None:
            self.owner._hit("unknown")
            return self._error(404, "ResourceNotFoundException", "not_found")
        return route(self._json(raw))

    def do_GET(self):  # noqa: N802
        path = urlparse(self.path).path
        if path == "/federation/credentials":
            return self._role_credentials()
        if path == "/authorize":
            return self._authorize()
        if path.startswith("/e2eVerify-"):
            return self._verification_page()
        self.owner._hit("unknown")
        return self._error(404, "ResourceNotFoundException", "not_found")

    def _register(self, body: dict) -> None:
        m = self.owner
        m._hit("register")
        m.register_agents.append(self.headers.get("User-Agent") or "")
        now = int(time.time())
        client_id, client_secret = m.register_client()
        with m._lock:
            m._registered[client_id] = dict(body)
            m.registrations.append({**{k: body.get(k) for k in (
                "clientName", "clientType", "scopes", "grantTypes", "redirectUris", "issuerUrl")},
                "client_id": client_id, "user_agent": self.headers.get("User-Agent") or ""})
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
            # The real service's shape (XXXX-XXXX): the app takes only such a line for a code.
            # Unique per mock instance (its tag), so leak checks still find it anywhere.
            m._seq += 1
            user_code = f"{m.tag[:4].upper()}-{m._seq:04d}"
            m.issued["user_code"].append(user_code)
            marker = self._verification_marker(m)
            m._polls[device_code] = 0
            m._devices[device_code] = body.get("clientId", "")
            m._user_codes[user_code] = device_code
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

    def _html(self, status: int, text: str) -> None:
        data = f"<!doctype html><title>mock sign-in</title><p>{escape(text)}</p>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _verification_page(self) -> None:
        """The device flow's verification page (reached through the stand-in browser, which maps
        device.sso.<region>.amazonaws.com here): asks to confirm the code."""
        self.owner._hit("verification_page")
        code = (parse_qs(urlparse(self.path).query).get("user_code") or [""])[0]
        self._html(200, f"Confirm the code {code}" if code else "Enter the code shown to you")

    def _approve(self, raw: bytes) -> None:
        """POST /device/approve (user_code=..., via=...): a person confirmed the code."""
        form = parse_qs(raw.decode(errors="replace"))
        code = (form.get("user_code") or [""])[0]
        via = (form.get("via") or ["http"])[0]
        if not self.owner.approve_user_code(code, via=via):
            return self._html(404, "unknown code")
        self._html(200, "Request approved. You may close this window.")

    def _authorize(self) -> None:
        """GET /authorize (PKCE): checked like the real service, then 302 to the CLI's loopback."""
        m = self.owner
        m._hit("authorize")
        query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query, keep_blank_values=True).items()}
        record = {"query": query, "outcome": None, "location": None}
        with m._lock:
            m.authorize_requests.append(record)
            for kind, key in (("pkce_state", "state"), ("code_challenge", "code_challenge")):
                if query.get(key) and query[key] not in m.issued[kind]:
                    m.issued[kind].append(query[key])
            reg = m._registered.get(query.get("client_id", ""))
            redirect = query.get("redirect_uri", "")
            registered = [_without_port(u or "") for u in (reg or {}).get("redirectUris") or []]
            why = None
            if query.get("response_type") != "code":
                why = "response_type is not code"
            elif reg is None:
                why = "unknown client_id"
            elif CODE_GRANT not in (reg.get("grantTypes") or []):
                why = "client not registered for authorization_code"
            elif not CLI_REDIRECT.match(redirect):
                why = "redirect_uri is not the CLI's loopback callback"
            elif _without_port(redirect) not in registered:
                why = "redirect_uri not registered"
            elif not query.get("state"):
                why = "no state"
            elif query.get("code_challenge_method") != "S256":
                why = "code_challenge_method is not S256"
            elif not PKCE_CHALLENGE.match(query.get("code_challenge", "")):
                why = "code_challenge is not an unpadded base64url SHA-256"
            elif not query.get("scopes"):
                why = "no scopes"
            if why is None and m.mode != MODE_NEVER and m.mode != MODE_FAIL:
                code = m._next("auth_code", "e2eAuthCode-{tag}-{n}")
                m._auth_codes[code] = {"client_id": query["client_id"], "redirect_uri": redirect,
                                       "challenge": query["code_challenge"], "used": False}
            mode = m.mode
        if why is not None:
            record["outcome"] = f"rejected: {why}"
            return self._html(400, f"invalid request: {why}")
        if mode == MODE_NEVER:
            record["outcome"] = "held"  # the person never confirms
            return self._html(200, "Allow access? (waiting for you)")
        state = query["state"]
        if mode == MODE_FAIL:
            record["outcome"] = "denied"
            location = f"{redirect}?{urlencode({'error': 'access_denied', 'state': state})}"
        else:
            record["outcome"] = "redirected"
            location = f"{redirect}?{urlencode({'code': code, 'state': state})}"
        record["location"] = location
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _code_grant(self, body: dict) -> None:
        """CreateToken(grantType authorization_code): the PKCE flow's exchange."""
        m = self.owner
        m._hit("token")
        record = {k: body.get(k) for k in ("clientId", "code", "redirectUri")}
        record["has_verifier"] = bool(body.get("codeVerifier"))
        with m._lock:
            m.code_grants.append(record)
            client_id = body.get("clientId") or ""
            info = m._auth_codes.get(body.get("code") or "")
            verifier = body.get("codeVerifier") or ""
            hashed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if not client_id or m._clients.get(client_id) != body.get("clientSecret"):
                outcome = "invalid_client"
            elif info is None:
                outcome = "invalid_grant: unknown code"
            elif info["used"]:
                outcome = "invalid_grant: code already used"
            elif info["client_id"] != client_id:
                outcome = "invalid_grant: code of another client"
            elif body.get("redirectUri") != info["redirect_uri"]:
                outcome = "invalid_grant: redirectUri differs from the authorize request's"
            elif not (43 <= len(verifier) <= 128) or hashed != info["challenge"]:
                outcome = "invalid_grant: codeVerifier does not match the code_challenge"
            else:
                outcome = "ok"
            if info is not None:
                info["used"] = True  # single use, whatever the outcome
            if verifier:
                m.issued["code_verifier"].append(verifier)  # a secret of the CLI's: search for it
            if outcome == "ok":
                expires_in = m.expires_in
                sid = m._sign_in_session()
                access = m._issue_access(expires_in, sid)
                refresh = m._issue_refresh(client_id, sid) if m.issue_refresh_token else None
            record["outcome"] = outcome
        if outcome == "invalid_client":
            return self._error(401, "InvalidClientException", "invalid_client")
        if outcome != "ok":
            return self._error(400, "InvalidGrantException", "invalid_grant")
        m._hit("token_issued")
        reply = {"accessToken": access, "tokenType": "Bearer", "expiresIn": expires_in}
        if refresh:
            reply["refreshToken"] = refresh
        self._send(200, reply)

    def _token(self, body: dict) -> None:
        m = self.owner
        if body.get("grantType") == "refresh_token":
            return self._refresh_grant(body)
        if body.get("grantType") == CODE_GRANT:
            return self._code_grant(body)

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
                waiting = m.require_approval and device_code not in m._approved
        if not known:
            return self._error(400, "InvalidGrantException", "invalid_grant")
        if mode == MODE_FAIL:
            return self._error(400, "AccessDeniedException", "access_denied")
        if mode == MODE_NEVER or attempt <= m.pending_polls or waiting:
            m._hit("token_pending")
            return self._error(400, "AuthorizationPendingException", "authorization_pending")
        with m._lock:
            expires_in = m.expires_in
            sid = m._sign_in_session()
            access = m._issue_access(expires_in, sid)
            refresh = (m._issue_refresh(m._devices.get(device_code, body.get("clientId", "")), sid)
                       if m.issue_refresh_token else None)
            del m._polls[device_code]  # a device code is exchanged once
        m._hit("token_issued")
        reply = {"accessToken": access, "tokenType": "Bearer", "expiresIn": expires_in}
        if refresh:
            reply["refreshToken"] = refresh
        self._send(200, reply)

    def _refresh_grant(self, body: dict) -> None:
        """CreateToken with grantType refresh_token (botocore's refresh, or the binary's SDK call)."""
        m = self.owner
        user_agent = " ".join(filter(None, (self.headers.get("User-Agent"),
                                            self.headers.get("x-amz-user-agent"))))
        agent = ("cli" if "aws-cli/" in user_agent
                 else "tray" if "aws-sdk-rust" in user_agent else "other")
        record = {"agent": agent, "user_agent": user_agent, "client_id": body.get("clientId"),
                  "refresh_token": body.get("refreshToken"), "outcome": None,
                  "arrived": time.monotonic(), "decided": None, "answered": None}
        with m._cond:
            m.counts["token_refresh"] += 1
            m.refresh_grants.append(record)
            m._refresh_in_flight += 1
            m.max_refresh_in_flight = max(m.max_refresh_in_flight, m._refresh_in_flight)
            m._cond.notify_all()
            deadline = time.monotonic() + m.refresh_barrier_timeout
            while m.counts["token_refresh"] < m.refresh_barrier:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                m._cond.wait(left)
            wait = m.refresh_delay
            for rank, needle in enumerate(m.refresh_priority):
                if needle in user_agent:
                    break
            else:
                rank = len(m.refresh_priority)
            wait += rank * m.refresh_gap if m.refresh_priority else 0.0
        try:
            if wait > 0:
                time.sleep(wait)
            with m._cond:
                client_id = body.get("clientId")
                info = m._refresh_tokens.get(body.get("refreshToken") or "")
                if m.refresh_error_echo:
                    outcome = "echoed"
                elif not client_id or m._clients.get(client_id) != body.get("clientSecret"):
                    outcome = "invalid_client"
                elif m.mode in (MODE_FAIL, MODE_NEVER) or not m.allow_refresh_grant:
                    outcome = "refused"
                elif info is None or info["spent"] or info["client_id"] != client_id:
                    outcome = "invalid_grant"
                elif not m.session_live(info.get("session")):
                    outcome = "session_over"
                else:
                    outcome = "ok"
                    expires_in = m.expires_in
                    access = m._issue_access(expires_in, info.get("session"))
                    new_refresh = None
                    if m.rotate_refresh_tokens:
                        info["spent"] = True  # single use: a second exchange is refused
                        new_refresh = m._issue_refresh(client_id, info.get("session"))
                    record.update(access_token=access, refresh_token_issued=new_refresh)
                record["outcome"] = outcome
                record["decided"] = time.monotonic()
                m.counts[f"token_refresh_{outcome}"] += 1
                m._cond.notify_all()
                lag = next((v for k, v in m.refresh_answer_delay.items() if k in user_agent), 0.0)
            if lag > 0:
                time.sleep(lag)
            if outcome == "echoed":
                sent, secret = body.get("refreshToken") or "", body.get("clientSecret") or ""
                echo = f"refresh token {sent} is not valid for client secret {secret}"
                return self._send(400, {"error": sent, "error_description": echo, "message": echo,
                                        "Message": echo}, error_type=sent)
            if outcome == "invalid_client":
                return self._error(401, "InvalidClientException", "invalid_client")
            if outcome != "ok":
                return self._error(400, "InvalidGrantException", "invalid_grant")
            reply = {"accessToken": access, "tokenType": "Bearer", "expiresIn": expires_in}
            if new_refresh:
                reply["refreshToken"] = new_refresh
            return self._send(200, reply)
        finally:
            with m._cond:
                m._refresh_in_flight -= 1
                record["answered"] = time.monotonic()
                m._cond.notify_all()

    def _logout(self) -> None:
        """The SSO portal's Logout: ends the sign-in session of the bearer token."""
        m = self.owner
        bearer = self.headers.get("x-amz-sso_bearer_token")
        with m._cond:
            m.logouts_arrived += 1
            m._cond.notify_all()
            gate, gate_timeout = m.logout_gate, m.logout_gate_timeout
        if gate is not None:
            gate.wait(gate_timeout)
        with m._lock:
            info = m._access.get(bearer or "")
            m.logouts.append({"bearer": bearer, "known": info is not None})
            sid = info.get("session") if info else None
            if sid is not None:
                m.sessions[sid]["logged_out"] = True
                if m._current_session == sid:
                    m._current_session = None
                for a in m._access.values():
                    if a.get("session") == sid:
                        a["revoked"] = True
        m._hit("logout")
        if info is None:
            return self._error(401, "UnauthorizedException", "unauthorized")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _role_credentials(self) -> None:
        m = self.owner
        m._hit("role_credentials")
        bearer = self.headers.get("x-amz-sso_bearer_token")
        query = parse_qs(urlparse(self.path).query)
        account = (query.get("account_id") or [""])[0]
        role = (query.get("role_name") or [""])[0]
        with m._lock:
            ok = m._access_ok(bearer)
            m.role_requests.append({"bearer": bearer, "account": account, "role": role, "ok": ok})
            if ok:
                secret_key = m._next("role_secret", "e2eSecretAccessKey-{tag}-{n}")
                session_token = m._next("role_secret", "e2eSessionToken-{tag}-{n}")
                key_id = f"ASIAE2E{m._seq:013d}"
                m._role_keys[key_id] = {"session_token": session_token, "account": account,
                                        "role": role}
        if not ok:
            return self._error(401, "UnauthorizedException", "unauthorized")
        self._send(200, {"roleCredentials": {
            "accessKeyId": key_id, "secretAccessKey": secret_key, "sessionToken": session_token,
            "expiration": int((time.time() + 3600) * 1000)}})

    def _sts(self, raw: bytes) -> None:
        """STS (query protocol): GetCallerIdentity for role credentials this mock handed out."""
        m = self.owner
        m._hit("sts")
        form = parse_qs(raw.decode(errors="replace"))
        action = (form.get("Action") or [""])[0]
        auth = self.headers.get("Authorization") or ""
        key_id = ""
        if "Credential=" in auth:
            key_id = auth.split("Credential=", 1)[1].split("/", 1)[0]
        with m._lock:
            key = m._role_keys.get(key_id)
            token_ok = key is not None and self.headers.get("X-Amz-Security-Token") == key["session_token"]
            m.sts_requests.append({"action": action, "access_key_id": key_id, "ok": token_ok})
        if action != "GetCallerIdentity":
            return self._sts_error(400, "InvalidAction", f"mock does not implement {action}")
        if not token_ok:
            return self._sts_error(403, "InvalidClientTokenId", "The security token is invalid.")
        arn = f"arn:aws:sts::{key['account']}:assumed-role/AWSReservedSSO_{key['role']}_e2e/e2e-user"
        self._send_xml(200, f"""<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>{escape(arn)}</Arn>
    <UserId>AROAE2EMOCK:e2e-user</UserId>
    <Account>{escape(key['account'])}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>
""")

    def _sts_error(self, status: int, code: str, message: str) -> None:
        self._send_xml(status, f"""<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>
  <RequestId>{uuid.uuid4()}</RequestId>
</ErrorResponse>
""")

    def _send_xml(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
