"""One `/ws/{session_id}` client: authenticate, subscribe, forward, answer (CONTRACT §6).

Two threads per socket besides simple_websocket's own reader: this loop, which alone writes to
the socket and alone touches the connection's state, and a small reader that only moves client
frames into the same queue the hub fills. So a client message, an event and an output batch are
handled strictly in arrival order, without locks, and a slow client only ever delays itself.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from flask import Flask, request
from flask_jwt_extended import decode_token
from jwt.exceptions import ExpiredSignatureError
from sqlalchemy.exc import SQLAlchemyError

from app.errors import AppError, iso
from app.extensions import db
from app.models.user import User
from app.realtime import feed, limits, protocol, streams
from app.realtime.hub import get_hub
from app.realtime.output import OutputStreams
from app.realtime.protocol import Close, ProtocolError
from app.realtime.routing import EventRouting
from app.realtime.socket_core import SocketCore
from app.realtime.subscriber import Item, Subscriber
from app.realtime.transport import POLICY_VIOLATION, Transport
from app.security import check_permissions, claims_revoked, token_refusal
from app.services import access, session_activity
from app.services import metrics as shared_metrics

log = logging.getLogger(__name__)
AUTH_TIMEOUT = 10.0
RECHECK_SECONDS = 30.0
MAX_CLIENT_BACKLOG = 200


class ClientConnection(OutputStreams, EventRouting, SocketCore):
    close_signal = Close
    label = "websocket"

    def __init__(self, ws: Any, session_ref: str, app: Flask) -> None:
        cfg = app.config
        self.app = app
        self.hub = get_hub(app)
        self.sub = Subscriber(self._accepts, max_pending=int(cfg.get("WS_MAX_PENDING", 1000)))
        self.transport = Transport(ws, self.sub)
        self.sub.on_abort = self.transport.abort
        self.sub.try_direct = self._direct_output
        # Held while taking items from the queue and writing them; the hub's direct writes
        # try it without waiting, so socket writes are never concurrent nor out of order.
        self._write_lock = threading.Lock()
        self._closing = False
        self.ping_interval = float(cfg.get("WS_PING_INTERVAL", 25.0))
        self.session_ref = session_ref
        self.auth_timeout = float(cfg.get("WS_AUTH_TIMEOUT", AUTH_TIMEOUT))
        self.session_id: str | None = None
        self.user_id: str | None = None
        self.token_exp: float = 0.0
        self.jti: str | None = None
        self.claims: dict[str, Any] = {}  # of the token the socket runs on (app.security rules)
        self.projects: set[str] = set()
        self.task_ids: set[str] = set()
        self.task_projects: set[str] = set()
        self.streams: dict[str, streams.Stream] = {}
        self._visible: dict[str, tuple[bool, float]] = {}
        self._out: list[str | bytes] = []
        self._client_backlog = 0
        self.remote = request.remote_addr
        self.opened = time.monotonic()

    # ------------------------------------------------------------ lifecycle

    def run(self) -> None:
        self.hub.register(self.sub)
        _publish_count(self.hub)
        threading.Thread(target=self._read_loop, name="ws-reader", daemon=True).start()
        code, reason = 1000, ""
        try:
            self._loop()
        except Close as close:
            code, reason = close.code, close.reason
            with self._write_lock:
                self._closing = True
                self._flush_quietly()
        except Exception:
            log.exception("websocket %s failed", self.sub.id)
        finally:
            self._closing = True
            self._cleanup(code, reason)

    def _loop(self) -> None:
        deadline = time.monotonic() + self.auth_timeout
        recheck = time.monotonic() + RECHECK_SECONDS
        ping = time.monotonic() + self.ping_interval
        while not self.sub.closed:
            now = time.monotonic()
            wait = min(deadline if self.user_id is None else recheck, ping) - now
            self.sub.wait(max(wait, 0.0) + 0.01)
            with self._write_lock:
                if self.sub.overflowed:
                    self._too_slow()
                for item in self.sub.get_batch(0):
                    self._handle(item)
                self._flush()
                now = time.monotonic()
                if self.user_id is None and now >= deadline:
                    self._out.append(protocol.error(
                        "AUTH_TOKEN_MISSING",
                        f"Send an authenticate message within {self.auth_timeout:g} seconds"))
                    raise Close(POLICY_VIOLATION, "authentication timeout")
                if now >= ping:
                    ping = now + self.ping_interval
                    if not self.transport.ping():
                        raise Close(POLICY_VIOLATION, "ping timeout")
                if self.user_id is not None and now >= recheck:
                    recheck = now + RECHECK_SECONDS
                    self._recheck()
                    self._flush()

    def _read_loop(self) -> None:
        """Client frames into the queue; stop reading a client that floods us."""
        try:
            while True:
                data = self.transport.ws.receive()
                if data is None:
                    continue
                if self._client_backlog >= MAX_CLIENT_BACKLOG:
                    self.sub.put_control(("flood", None))
                    return
                self._client_backlog += 1
                self.sub.put_control(("client", data))
        except Exception:  # noqa: BLE001 - any end of the socket ends the reader
            log.debug("ignored", exc_info=True)
        finally:
            self.sub.put_control(("closed", None))

    def _cleanup(self, code: int, reason: str) -> None:
        self.hub.unregister(self.sub)
        self.transport.close(code, reason)
        try:
            _publish_count(self.hub)
            if self.user_id is not None:
                limits.release(self.user_id, self.sub.id)
                session_activity.record_disconnected(
                    uuid.UUID(self.session_id), uuid.UUID(self.user_id), self.sub.id,
                    time.monotonic() - self.opened, reason or "closed")
        except Exception:  # noqa: BLE001 - bookkeeping must not raise out of the socket
            log.warning("websocket %s cleanup incomplete", self.sub.id, exc_info=True)
        finally:
            db.session.remove()

    # ------------------------------------------------------------ sending

    def _send(self, *texts: str | None) -> None:
        self._out.extend(t for t in texts if t)

    def _too_slow(self) -> None:
        resume = {key: s.last_seq for key, s in self.streams.items()}
        self._out = [protocol.error(
            "WEBSOCKET_CONNECTION_FAILED",
            f"Client too slow: more than {self.sub.max_pending} messages waiting; disconnected. "
            "Reconnect and resubscribe with after_seq to resume output.",
            {"reason": "too_slow", "limit": self.sub.max_pending, "resume_after_seq": resume})]
        raise Close(POLICY_VIOLATION, "client too slow")

    # ------------------------------------------------------------ dispatch

    def _handle(self, item: Item) -> None:
        kind, value = item
        if kind == "client":
            self._client_backlog -= 1
            self._on_client(value)
        elif kind == "event":
            self._guard(self._on_event, value)
        elif kind == "output":
            self._guard(self._on_output, value)
        elif kind == "raw":  # the rest of a frame the hub could only partly write
            self._out.append(value)
        elif kind == "perf":
            if "system" in self.sub.topics:
                self._send(protocol.message("performance_data", value))
        elif kind == "hub":
            self._guard(self._on_hub, value)
        elif kind == "closed":
            raise Close(1000, "client closed")
        elif kind == "flood":
            self._send(protocol.error("RATE_LIMIT_EXCEEDED",
                                      "Too many messages waiting to be processed"))
            raise Close(POLICY_VIOLATION, "flood")

    def _on_client(self, text: str | bytes) -> None:
        extra: dict[str, Any] = {}
        try:
            msg = protocol.parse(text, self._admit)
            if getattr(msg, "task_id", None) is not None:
                extra["task_id"] = str(msg.task_id)
            getattr(self, f"_do_{msg.type}")(msg)
        except ProtocolError as exc:
            self._send(protocol.error(exc.code, exc.message, exc.details, **exc.extra, **extra))
            if exc.close:
                raise Close(POLICY_VIOLATION, exc.code) from None
        except AppError as exc:
            self._send(protocol.error(exc.code, exc.message, exc.details, **extra))
        except SQLAlchemyError:
            log.exception("websocket %s: database error", self.sub.id)
            self._send(protocol.error("DATABASE_ERROR", **extra))
        finally:
            db.session.remove()

    def _admit(self, model: type) -> None:
        """Before a message is validated, as before a REST route's: authenticated, then the
        role permission its REST twin needs (a viewer may not run tasks)."""
        if self.user_id is None:
            if model is protocol.Authenticate:
                return
            raise ProtocolError("AUTH_TOKEN_MISSING",
                                "Authenticate first: send an authenticate message")
        if model.permission is not None:
            user = self._user()
            if user is None:
                raise ProtocolError("AUTH_TOKEN_INVALID", "Token user no longer exists",
                                    close=True)
            check_permissions(user, (model.permission,))

    # ------------------------------------------------------------ client messages

    def _decode(self, token: str, close: bool) -> dict[str, Any]:
        try:
            claims = decode_token(token)
        except ExpiredSignatureError:
            raise ProtocolError("AUTH_TOKEN_INVALID", "Token has expired", close=close) from None
        except Exception:  # noqa: BLE001 - every other decoding failure is an invalid token
            raise ProtocolError("AUTH_TOKEN_INVALID", close=close) from None
        if claims.get("type") != "access":
            raise ProtocolError("AUTH_TOKEN_INVALID", "An access token is required",
                                close=close)
        if claims_revoked(claims):
            raise ProtocolError("AUTH_TOKEN_INVALID", "Token has been revoked", close=close)
        return claims

    def _do_authenticate(self, msg: protocol.Authenticate) -> None:
        if self.user_id is not None:  # a fresh token for a long-lived socket
            claims = self._decode(msg.token, close=False)
            if claims["sub"] != self.user_id:
                raise ProtocolError("AUTH_TOKEN_INVALID", "Token belongs to another user")
            refusal = token_refusal(claims, self._user())
            if refusal is not None:
                raise ProtocolError(refusal.code, refusal.message)
            self.token_exp, self.jti, self.claims = float(claims["exp"]), claims["jti"], claims
            self._send(self._authenticated())
            return
        claims = self._decode(msg.token, close=True)
        user = _load_user(claims["sub"])
        refusal = token_refusal(claims, user)  # gone, disabled, or issued before a password change
        if refusal is not None:
            raise ProtocolError(refusal.code, refusal.message, close=True)
        try:
            session = session_activity.open_for_socket(_parse_uuid(self.session_ref), user)
        except AppError as exc:
            raise ProtocolError(exc.code, exc.message, exc.details, close=True) from None
        cap = int(self.app.config["WS_MAX_CONNECTIONS_PER_USER"])
        if not limits.acquire(str(user.id), self.sub.id, cap):
            raise ProtocolError("RATE_LIMIT_EXCEEDED",
                                f"At most {cap} open connections per user",
                                {"limit": cap}, close=True)
        self.user_id, self.session_id = str(user.id), str(session.id)
        self.sub.user_id, self.sub.session_id = self.user_id, self.session_id
        self.token_exp, self.jti, self.claims = float(claims["exp"]), claims["jti"], claims
        self.username = user.username
        session_activity.record_connected(session.id, user.id, self.sub.id, self.remote)
        self._send(self._authenticated(), feed.maintenance_now())

    def _authenticated(self) -> str:
        return protocol.message("authenticated", {
            "user_id": self.user_id, "username": getattr(self, "username", None),
            "session_id": self.session_id, "connection_id": self.sub.id,
            "token_expires_at": iso(_from_ts(self.token_exp))})

    def _do_ping(self, msg: protocol.Ping) -> None:
        self._send(protocol.pong(msg.timestamp))

    def _do_get_metrics(self, msg: protocol.GetMetrics) -> None:
        from app.realtime import metrics

        self._send(protocol.message("performance_data", metrics.collect(msg.metrics)))

    def _do_execute_task(self, msg: protocol.ExecuteTask) -> None:
        from app.realtime import actions

        result = actions.execute_task(self._user(), msg.task_id, msg.body(),
                                      uuid.UUID(self.session_id))
        self.task_ids.add(str(msg.task_id))
        self._send(protocol.message("task_update", result))

    def _do_subscribe(self, msg: protocol.Subscribe) -> None:
        user = self._user()
        ack = {"channel": msg.channel}
        if msg.channel == "system":
            self.sub.topics.add("system")
        elif msg.channel == "project_updates":
            access.get_project(msg.project_id, user)
            self.projects.add(str(msg.project_id))
            ack["project_id"] = str(msg.project_id)
        elif msg.channel == "task_updates" and msg.task_id is not None:
            access.get_task(msg.task_id, user)
            self.task_ids.add(str(msg.task_id))
            ack["task_id"] = str(msg.task_id)
        elif msg.channel == "task_updates":
            access.get_project(msg.project_id, user)
            self.task_projects.add(str(msg.project_id))
            ack["project_id"] = str(msg.project_id)
        else:
            self._open_stream(msg, user)
            return
        self._send(protocol.message("subscribed", ack))
        if msg.channel == "system":
            from app.realtime import metrics

            self._send(protocol.message("performance_data", metrics.performance()))

    def _do_unsubscribe(self, msg: protocol.Unsubscribe) -> None:
        ack: dict[str, Any] = {"channel": msg.channel}
        was = False
        if msg.channel == "system":
            was = "system" in self.sub.topics
            self.sub.topics.discard("system")
        elif msg.channel == "project_updates":
            was = _discard(self.projects, msg.project_id)
            ack["project_id"] = str(msg.project_id)
        elif msg.channel == "task_updates" and msg.task_id is not None:
            was = _discard(self.task_ids, msg.task_id)
            ack["task_id"] = str(msg.task_id)
        elif msg.channel == "task_updates":
            was = _discard(self.task_projects, msg.project_id)
            ack["project_id"] = str(msg.project_id)
        else:
            owner_type = "command" if msg.command_id else "execution"
            owner_id = str(msg.command_id or msg.execution_id)
            stream = self.streams.pop(f"{owner_type}:{owner_id}", None)
            if stream is not None:
                was = True
                self.hub.unsubscribe_channel(self.sub, stream.channel)
            ack[f"{owner_type}_id"] = owner_id
        ack["was_subscribed"] = was
        self._send(protocol.message("unsubscribed", ack))

    # ------------------------------------------------------------ periodic checks

    def _recheck(self) -> None:
        """Expired or revoked token (or login), disabled account, password changed since the
        token was issued (app.security.token_refusal): end the socket."""
        if time.time() >= self.token_exp:
            self._send(protocol.error("AUTH_TOKEN_INVALID",
                                      "Token has expired; reconnect with a new one"))
            raise Close(POLICY_VIOLATION, "token expired")
        try:
            revoked = claims_revoked(self.claims)
            refusal = token_refusal(self.claims, self._user())
        finally:
            db.session.remove()
        if revoked:
            self._send(protocol.error("AUTH_TOKEN_INVALID", "Token has been revoked"))
            raise Close(POLICY_VIOLATION, "token revoked")
        if refusal is not None:
            self._send(protocol.error(refusal.code, refusal.message))
            raise Close(POLICY_VIOLATION, refusal.code)

    def _user(self) -> User | None:
        return _load_user(self.user_id) if self.user_id else None


def _load_user(subject: str) -> User | None:
    try:
        return db.session.get(User, uuid.UUID(str(subject)))
    except ValueError:
        return None


def _parse_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise AppError("SESSION_NOT_FOUND", "Session ids are UUIDs") from None


def _discard(values: set[str], item: Any) -> bool:
    key = str(item)
    if key in values:
        values.discard(key)
        return True
    return False


def _from_ts(ts: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC) if ts else None


def _publish_count(hub) -> None:
    try:
        shared_metrics.set_process_websockets(len(hub.subscribers()))
    except Exception:  # noqa: BLE001 - health figures must never break a socket
        log.debug("websocket count not published", exc_info=True)
