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
"""

from __future__ import annotations

import collections
import json
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

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
                 issue_refresh_token: bool = True, allow_refresh_grant: bool = True,
                 rotate_refresh_tokens: bool = True, refresh_delay: float = 0.0,
                 refresh_barrier: int = 0, refresh_barrier_timeout: float = 15.0,
                 refresh_priority: tuple[str, ...] = (), refresh_gap: float = 0.7,
                 refresh_answer_delay: dict[str, float] | None = None,
                 refresh_error_echo: bool = False, session_seconds: float | None = None) -> None:
        self.tag = secrets.token_hex(6)  # makes every issued value unique to this mock
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
        # device_code, user_code, verification_uri (the short marker, see _verification_marker)
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
        self.owner._hit("unknown")
        return self._error(404, "ResourceNotFoundException", "not_found")

    def _register(self, body: dict) -> None:
        m = self.owner
        m._hit("register")
        now = int(time.time())
        client_id, client_secret = m.register_client()
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
            return self._refresh_grant(body)

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
