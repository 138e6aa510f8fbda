"""Run the ``qualys-mock`` binary and drive its control API (``/_mock/*``) with plain Python
types. Only the standard library is used."""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

__all__ = [
    "Clock",
    "ControlClient",
    "Customer",
    "QualysMock",
    "QualysMockError",
    "find_binary",
]

BINARY_NAME = "qualys-mock" + (".exe" if os.name == "nt" else "")

Time = Union[int, str, _dt.datetime]
Duration = Union[int, str, _dt.timedelta]


class QualysMockError(Exception):
    """A control API call failed. ``status`` is the HTTP status, ``message`` the server's
    own explanation, ``body`` the whole answer."""

    def __init__(self, status: int, message: str, body: Any = None, *, call: str = ""):
        self.status = status
        self.message = message
        self.body = body
        self.call = call
        where = f"{call}: " if call else ""
        super().__init__(f"{where}{status}: {message}")


@dataclass(frozen=True)
class Customer:
    """A customer made by :meth:`ControlClient.new_customer`, with its one user."""

    name: str
    id: int
    uuid: str
    username: str
    password: str
    #: What was added to every copied object's id (0 for an empty customer).
    id_offset: int = 0

    @property
    def auth(self) -> tuple:
        """``(username, password)``, as ``requests``' ``auth=`` takes it."""
        return (self.username, self.password)


@dataclass(frozen=True)
class Clock:
    """The emulator's clock."""

    now_ms: int
    frozen: bool
    offset_ms: int

    @property
    def now(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.now_ms / 1000, tz=_dt.timezone.utc)

    @classmethod
    def _from(cls, body: Mapping[str, Any]) -> "Clock":
        return cls(now_ms=body["nowMs"], frozen=body["frozen"], offset_ms=body["offsetMs"])


def find_binary() -> str:
    """The ``qualys-mock`` binary: ``$QUALYS_MOCK_BIN``, else the one this package's wheel
    installed (the interpreter's scripts folder, or the user scheme's), else the first on
    PATH."""
    explicit = os.environ.get("QUALYS_MOCK_BIN")
    if explicit:
        if not os.path.isfile(explicit):
            raise FileNotFoundError(f"QUALYS_MOCK_BIN={explicit} is not a file")
        return explicit
    candidates = [sysconfig.get_path("scripts")]
    user_scheme = {"nt": "nt_user", "posix": "posix_user"}.get(os.name)
    if sys.platform == "darwin" and sys._framework:  # type: ignore[attr-defined]
        user_scheme = "osx_framework_user"
    if user_scheme:
        try:
            candidates.append(sysconfig.get_path("scripts", scheme=user_scheme))
        except KeyError:
            pass
    candidates.append(os.path.dirname(sys.executable))
    for folder in candidates:
        if folder:
            path = os.path.join(folder, BINARY_NAME)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    found = shutil.which(BINARY_NAME)
    if found:
        return found
    raise FileNotFoundError(
        "qualys-mock binary not found: install the qualys-mock wheel, put the binary on PATH, "
        "or set QUALYS_MOCK_BIN"
    )


def _ms(value: Time) -> Union[int, str]:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return int(value.timestamp() * 1000)
    return value


def _duration(value: Duration) -> Union[int, str]:
    if isinstance(value, _dt.timedelta):
        return int(value.total_seconds() * 1000)
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


class ControlClient:
    """The control API of a running emulator at ``url`` (``http://host:port``)."""

    def __init__(
        self,
        url: str,
        *,
        control_token: Optional[str] = None,
        https_url: Optional[str] = None,
        ca_bundle: Optional[str] = None,
        timeout: float = 30.0,
    ):
        self.url = url.rstrip("/")
        self.https_url = https_url
        self.ca_bundle = ca_bundle
        self.control_token = control_token
        self.timeout = timeout
        # Loopback calls must not go through a proxy from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # -- plumbing ---------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Optional[Mapping[str, Any]] = None,
    ) -> Any:
        url = f"{self.url}/_mock/{path.lstrip('/')}"
        if query:
            pairs = {k: v for k, v in query.items() if v is not None}
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.control_token:
            request.add_header("X-Mock-Token", self.control_token)
        call = f"{method} /_mock/{path.lstrip('/')}"
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode(errors="replace")
            if isinstance(parsed, dict):
                message = parsed.get("error") or parsed.get("message") or json.dumps(parsed)
            else:
                message = parsed or e.reason
            raise QualysMockError(e.code, str(message), parsed, call=call) from None
        except urllib.error.URLError as e:
            raise QualysMockError(0, f"cannot reach {self.url}: {e.reason}", call=call) from None
        return json.loads(raw) if raw else None

    # -- control endpoints ------------------------------------------------------------------

    def health(self) -> dict:
        """``GET /_mock/health``: status, version, seed, record counts, clock."""
        return self._call("GET", "health")

    def endpoints(self) -> list:
        """``GET /_mock/``: each control endpoint's method, path and purpose."""
        return self._call("GET", "")["endpoints"]

    def reset(
        self, customer: Union[None, str, Customer] = None, *, scope: Optional[str] = None
    ) -> dict:
        """Back to how the server started. Without ``customer``: everything (the data, the
        clock, the fault rules and the run-time config), or the data only with
        ``scope="data"``. With ``customer``: that customer's data only. The answer's
        ``restored`` lists what was restored."""
        name = customer.name if isinstance(customer, Customer) else customer
        return self._call("POST", "reset", query={"customer": name, "scope": scope})

    def new_customer(
        self,
        name: Optional[str] = None,
        *,
        copy_of: Optional[str] = "Acme",
        username: Optional[str] = None,
        password: Optional[str] = None,
        modules: Optional[Sequence[str]] = None,
    ) -> Customer:
        """A new customer with its own user. ``copy_of`` names a seeded customer whose
        objects are copied under new ids (``None`` for an empty one); ``name`` defaults to a
        unique one."""
        if name is None:
            import uuid

            name = f"py-{uuid.uuid4().hex[:16]}"
        body: dict = {"name": name}
        if copy_of is not None:
            body["copyOf"] = copy_of
        if username is not None:
            body["username"] = username
        if password is not None:
            body["password"] = password
        if modules is not None:
            body["modules"] = list(modules)
        c = self._call("POST", "customers", body)
        return Customer(
            name=c["name"],
            id=c["id"],
            uuid=c["uuid"],
            username=c["username"],
            password=c["password"],
            id_offset=c.get("idOffset", 0),
        )

    def seed(self, records: Mapping[str, Any]) -> int:
        """Load records in the seed-data format (``{"scripts": [...], ...}``); all or
        nothing. Returns how many were loaded."""
        return self._call("POST", "seed", dict(records))["records"]

    def clock(self) -> Clock:
        return Clock._from(self._call("GET", "clock"))

    def set_clock(self, when: Time, *, freeze: Optional[bool] = None) -> Clock:
        """Jump to ``when`` (a datetime, an ISO string, epoch ms, or ``"now"``: the system
        clock's time); ``freeze=True`` stands still there, ``freeze=False`` runs from there
        (``set_clock("now", freeze=False)`` is real time again)."""
        body: dict = {"set": _ms(when)}
        if freeze is not None:
            body["freeze"] = bool(freeze)
        return Clock._from(self._call("POST", "clock", body))

    def advance(self, by: Duration) -> Clock:
        """Move the clock by a timedelta, ms, or ``"4h"``/``"30m"``/``"90s"``/``"2d"``; what
        became due runs (asset jobs progress, schedules fire, tokens expire)."""
        return Clock._from(self._call("POST", "clock", {"advance": _duration(by)}))

    def freeze(self, at: Optional[Time] = None) -> Clock:
        body: dict = {"freeze": True}
        if at is not None:
            body["set"] = _ms(at)
        return Clock._from(self._call("POST", "clock", body))

    def resume(self) -> Clock:
        return Clock._from(self._call("POST", "clock", {"resume": True}))

    def add_fault(
        self,
        path: str,
        *,
        method: Optional[str] = None,
        status: Optional[int] = None,
        body: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        latency_ms: Optional[int] = None,
        drop: bool = False,
        rate_limit: Optional[int] = None,
        times: Optional[int] = None,
        probability: Optional[float] = None,
        seed: Optional[int] = None,
    ) -> dict:
        """Add a fault rule for calls matching ``path`` (``*`` globs) and ``method``."""
        spec: dict = {"path": path}
        for key, value in (
            ("method", method),
            ("status", status),
            ("body", body),
            ("headers", dict(headers) if headers else None),
            ("latencyMs", latency_ms),
            ("rateLimit", rate_limit),
            ("times", times),
            ("probability", probability),
            ("seed", seed),
        ):
            if value is not None:
                spec[key] = value
        if drop:
            spec["drop"] = True
        return self._call("POST", "faults", spec)

    def fail_next(self, method: str, path: str, status: int = 500, times: int = 1) -> dict:
        """The next ``times`` ``method path`` calls answer ``status`` in the API's format."""
        return self.add_fault(path, method=method, status=status, times=times)

    def faults(self) -> list:
        return self._call("GET", "faults")

    def remove_fault(self, fault_id: int) -> None:
        self._call("DELETE", f"faults/{int(fault_id)}")

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def requests(
        self,
        *,
        method: Optional[str] = None,
        path: Optional[str] = None,
        status: Optional[int] = None,
        since: Optional[Time] = None,
    ) -> list:
        """The request journal, oldest first; ``path`` is a prefix, ``since`` epoch ms (or a
        datetime)."""
        query = {
            "method": method,
            "path": path,
            "status": status,
            "since": None if since is None else _ms(since),
        }
        return self._call("GET", "requests", query=query)["requests"]

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def cm_events(
        self, customer: Union[str, Customer], events: Iterable[Mapping[str, Any]]
    ) -> list:
        """Inject CM host events (``{"eventType", "ipAddress", "hostname"?, "eventDate"?,
        "info"?}``) seen by ``customer``; returns the alerts they raised."""
        name = customer.name if isinstance(customer, Customer) else customer
        body = {"customer": name, "events": [dict(e) for e in events]}
        return self._call("POST", "cm/events", body)["alerts"]

    def set_asset_job_outcome(
        self,
        asset_job_id: int,
        status: str,
        *,
        code: Optional[int] = None,
        text: Optional[str] = None,
        result: Optional[str] = None,
    ) -> None:
        """Force a CAR asset job's final status (``SUCCESS``, ``FAILED``, ``TIMED_OUT``, ...),
        code, text and script result."""
        body: dict = {"status": status}
        for key, value in (("code", code), ("text", text), ("result", result)):
            if value is not None:
                body[key] = value
        self._call("POST", f"car/assetjobs/{int(asset_job_id)}/outcome", body)

    def config(self) -> dict:
        """The run-time limits (``executeIntervalMs``, ``dailyExecutions``, ...)."""
        return self._call("GET", "config")

    def set_config(self, changes: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> dict:
        """Change run-time limits, by their wire names or snake_case keywords
        (``set_config(execute_interval_ms=0)``)."""
        body = dict(changes or {})
        body.update({_camel(k): v for k, v in kwargs.items()})
        return self._call("PUT", "config", body)


class QualysMock(ControlClient):
    """The emulator in a child process, on a free loopback port.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. Its output goes to a
    file (``log_path``), never to a pipe, so it can never stall on a reader.

    The server sees only what these options say: ``QUALYS_MOCK_*`` variables of the calling
    process are not passed on (give ``env=`` or ``args=`` for anything else).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        https: bool = False,
        https_port: int = 0,
        tls_san: Sequence[str] = (),
        seed: Union[None, str, os.PathLike] = None,
        db: Union[None, str, os.PathLike] = None,
        frozen_at: Optional[Time] = None,
        control_token: Optional[str] = None,
        jwt_secret: Optional[str] = None,
        log: str = "info",
        log_format: str = "text",
        log_file: Union[None, str, os.PathLike] = None,
        binary: Optional[str] = None,
        args: Sequence[str] = (),
        env: Optional[Mapping[str, str]] = None,
        startup_timeout: float = 30.0,
        timeout: float = 30.0,
    ):
        super().__init__("http://unstarted", control_token=control_token, timeout=timeout)
        self.host = host
        self.port = port
        self.https = https
        self.https_port = https_port
        self.tls_san = list(tls_san)
        self.seed_dir = None if seed is None else os.fspath(seed)
        self.db = None if db is None else os.fspath(db)
        self.frozen_at = frozen_at
        self.jwt_secret = jwt_secret
        self.log = log
        self.log_format = log_format
        self.log_file = None if log_file is None else os.fspath(log_file)
        self.binary = binary
        self.extra_args = list(args)
        self.extra_env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.process: Optional[subprocess.Popen] = None
        self.log_path: Optional[str] = None
        self._tmp: Optional[str] = None

    # -- lifecycle --------------------------------------------------------------------------

    def command(self) -> list:
        """The command line :meth:`start` runs."""
        binary = self.binary or find_binary()
        cmd = [binary, "serve", "--host", self.host, "--port", str(self.port)]
        cmd += ["--log", self.log, "--log-format", self.log_format]
        # Written (atomically) once every listener is up and the store is ready.
        cmd += ["--ready-file", self._ready_path()]
        if self.https:
            cmd += ["--https-port", str(self.https_port)]
            cmd += ["--tls-cert-out", os.path.join(self._tmp or ".", "ca.pem")]
            for name in self.tls_san:
                cmd += ["--tls-san", name]
        if self.seed_dir:
            cmd += ["--seed", self.seed_dir]
        if self.db:
            cmd += ["--db", self.db]
        if self.control_token:
            cmd += ["--control-token", self.control_token]
        if self.jwt_secret:
            cmd += ["--jwt-secret", self.jwt_secret]
        if self.frozen_at is not None:
            # The server starts frozen there, so a full reset brings the clock back to it.
            cmd += ["--frozen-at", str(_ms(self.frozen_at))]
        return cmd + self.extra_args

    def _ready_path(self) -> str:
        return os.path.join(self._tmp or ".", "ready.json")

    def start(self) -> "QualysMock":
        if self.process is not None:
            raise RuntimeError("already started")
        self._tmp = tempfile.mkdtemp(prefix="qualys-mock-")
        self.log_path = self.log_file or os.path.join(self._tmp, "server.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith("QUALYS_MOCK_")}
        env.update(self.extra_env)
        cmd = self.command()
        with open(self.log_path, "ab") as log:
            offset = log.tell()
            self.process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                close_fds=True,
            )
        try:
            self._wait_until_ready(offset)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self, offset: int) -> None:
        """Until the server writes its ready file (``--ready-file``): its URLs and CA path."""
        assert self.process is not None and self.log_path is not None
        deadline = time.monotonic() + self.startup_timeout
        path = self._ready_path()
        while True:
            # The server renames the file into place: once it exists, it is whole.
            try:
                with open(path, encoding="utf-8") as f:
                    ready = json.load(f)
                break
            except FileNotFoundError:
                pass
            if self.process.poll() is not None:
                raise QualysMockError(
                    0, f"qualys-mock exited with {self.process.returncode}:\n{self._log_tail(offset)}"
                )
            if time.monotonic() > deadline:
                raise QualysMockError(
                    0, f"qualys-mock did not start in {self.startup_timeout}s:\n{self._log_tail(offset)}"
                )
            time.sleep(0.01)
        self.url = ready["http"]
        self.https_url = ready.get("https")
        self.ca_bundle = ready.get("ca")

    def _log_tail(self, offset: int = 0, lines: int = 30) -> str:
        try:
            with open(self.log_path or "", "rb") as f:
                f.seek(offset)
                return "\n".join(f.read().decode(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @property
    def pid(self) -> Optional[int]:
        return None if self.process is None else self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> Optional[int]:
        """SIGTERM (graceful: in-flight requests finish, a file store is checkpointed), then
        a kill if it has not exited within ``timeout``. Returns the exit code."""
        code = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            code = self.process.returncode
            self.process = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        return code

    def __enter__(self) -> "QualysMock":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"url={self.url!r}" if self.running else "stopped"
        return f"<QualysMock {state}>"
