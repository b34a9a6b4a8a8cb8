"""The hub's dashboard (aiohttp): one page, a JSON state, Server-Sent Events, the RT head's forms.

Routes:
    GET  /             the dashboard (static/index.html; JS in static/app.js, no CDN, no fonts)
    GET  /api/state    everything the page shows, plus ``me`` (the login and its CSRF token)
    GET  /events       Server-Sent Events: ``event: state`` with the same JSON on each change
    GET  /login        the login form;  POST /login, POST /logout
    POST /api/alert    type, drill     -> hub/alert       (login + CSRF token)
    POST /api/command  cmd, type       -> hub/command     (login + CSRF token)
    POST /api/end      id              -> hub/cancel done (login + CSRF token)

Viewing is open to the local network unless the hub runs with ``private`` (then everything but
the login form needs the login). Every response carries a Content-Security-Policy that allows
only this server's own scripts and styles; the page builds its DOM with textContent, never
innerHTML, so nothing a house sends can become markup. POSTs must come from this origin (the
Origin header, SameSite=Strict cookies) and carry the session's CSRF token.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from kampung.hub import auth
from kampung.hub.app import HubOffline

if TYPE_CHECKING:
    from kampung.hub.app import Hub

log = logging.getLogger("kampung.hub.web")

STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "kandig_session"
LOGIN_COOKIE = "kandig_login"  # the login form's own CSRF token (double submit)
MAX_LISTENERS = 100  # open dashboards (event streams) at once
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")


class Web:
    def __init__(self, hub: Hub):
        self.hub = hub
        self.sessions = auth.Sessions()
        self.limiter = auth.LoginLimiter()
        self.listeners: set[asyncio.Queue[str | None]] = set()
        self.runner: web.AppRunner | None = None
        app = web.Application(middlewares=[self._guard], client_max_size=16 * 1024)
        app.router.add_get("/", self.index)
        app.router.add_get("/api/state", self.api_state)
        app.router.add_get("/events", self.events)
        app.router.add_get("/login", self.login_form)
        app.router.add_post("/login", self.login)
        app.router.add_post("/logout", self.logout)
        app.router.add_post("/api/alert", self.api_alert)
        app.router.add_post("/api/command", self.api_command)
        app.router.add_post("/api/end", self.api_end)
        app.router.add_static("/static", STATIC, follow_symlinks=False)
        self.app = app

    async def start(self, host: str, port: int) -> int:
        self.runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=2,
                                    handler_cancellation=True)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        return sockets[0].getsockname()[1] if sockets else port

    async def stop(self) -> None:
        for q in list(self.listeners):
            _offer(q, None)  # each event stream ends
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def push(self, state: dict[str, Any]) -> None:
        data = json.dumps(state, separators=(",", ":"))
        for q in list(self.listeners):
            _offer(q, data)

    # -- plumbing -----------------------------------------------------------------------------

    def _secure_cookie(self, request: web.Request) -> bool:
        return request.secure or self.hub.secure_cookies

    def session(self, request: web.Request) -> auth.Session | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE), time.time())

    @web.middleware
    async def _guard(self, request: web.Request, handler):
        if request.method == "POST" and not _same_origin(request):
            response: web.StreamResponse = _json({"ok": False, "error": "Permintaan dari situs lain ditolak."}, 403)
        else:
            try:
                response = await handler(request)
            except web.HTTPException as e:  # redirects and errors: raised, with the same headers
                _secure(e.headers, request)
                raise
        if not response.prepared:  # an event stream has sent its headers already
            _secure(response.headers, request)
        return response

    def _authorised(self, request: web.Request, form: Any) -> auth.Session | web.Response:
        """The session of a POST with its CSRF token, or the error response."""
        session = self.session(request)
        if session is None:
            return _json({"ok": False, "error": "Silakan masuk dulu."}, 401)
        token = form.get("csrf") or request.headers.get("X-CSRF-Token") or ""
        if not secrets.compare_digest(str(token), session.csrf):
            return _json({"ok": False, "error": "Token formulir tidak sah; muat ulang halaman."}, 403)
        return session

    # -- pages --------------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        if self.hub.private and self.session(request) is None:
            raise web.HTTPSeeOther("/login")
        return web.FileResponse(STATIC / "index.html")

    async def api_state(self, request: web.Request) -> web.Response:
        session = self.session(request)
        if self.hub.private and session is None:
            return _json({"ok": False, "error": "Silakan masuk dulu."}, 401)
        state = self.hub.state()
        state["me"] = None if session is None else {"user": session.user, "csrf": session.csrf}
        state["login"] = self.hub.ketua_hash is not None
        return _json(state)

    async def events(self, request: web.Request) -> web.StreamResponse:
        if self.hub.private and self.session(request) is None:
            return _json({"ok": False, "error": "Silakan masuk dulu."}, 401)
        if len(self.listeners) >= MAX_LISTENERS:
            return _json({"ok": False, "error": "Terlalu banyak papan pantau terbuka."}, 503)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=2)
        self.listeners.add(queue)
        try:
            await response.write(b"retry: 2000\n\n")
            await response.write(_event(json.dumps(self.hub.state(), separators=(",", ":"))))
            while True:
                try:
                    data = await asyncio.wait_for(queue.get(), 15)
                except asyncio.TimeoutError:
                    await response.write(b": keep-alive\n\n")  # proxies close idle streams
                    continue
                if data is None:
                    break
                await response.write(_event(data))
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            self.listeners.discard(queue)
        return response

    async def login_form(self, request: web.Request) -> web.Response:
        return self._login_page(request)

    def _login_page(self, request: web.Request, error: str = "", status: int = 200) -> web.Response:
        token = secrets.token_urlsafe(24)
        page = (_LOGIN_PAGE.replace("{net}", html.escape(self.hub.net))
                .replace("{error}", f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "")
                .replace("{token}", token)
                .replace("{user}", auth.USER))
        if self.hub.ketua_hash is None:
            page = page.replace("{note}", '<p class="error">Kata sandi ketua belum diatur: '
                                "jalankan <code>kampung hub set-password</code>.</p>")
        else:
            page = page.replace("{note}", "")
        response = web.Response(text=page, content_type="text/html", status=status)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict", path="/login",
                            secure=self._secure_cookie(request), max_age=3600)
        return response

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        client = request.remote or "?"
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        if not cookie or not secrets.compare_digest(str(form.get("csrf", "")), cookie):
            return self._login_page(request, "Formulir kedaluwarsa; silakan coba lagi.", 403)
        wait = self.limiter.wait_s(client)
        if wait > 0:
            log.warning("login from %s refused: too many failures", client)
            return self._login_page(request, "Terlalu banyak percobaan gagal. Coba lagi dalam "
                                    f"{int(wait) + 1} detik.", 429)
        user = str(form.get("user", ""))
        password = str(form.get("password", ""))
        record = self.hub.ketua_hash
        ok = False
        if record is not None and user == auth.USER:
            loop = asyncio.get_running_loop()  # ~0.15 s of hashing: off the event loop
            ok = await loop.run_in_executor(None, auth.verify, password, record)
        if not ok:
            self.limiter.failed(client)
            log.warning("failed login from %s", client)
            return self._login_page(request, "Nama pengguna atau kata sandi salah.", 401)
        self.limiter.succeeded(client)
        token, _ = self.sessions.create(auth.USER, time.time())
        log.info("%s logged in from %s", auth.USER, client)
        response = web.HTTPSeeOther("/")
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict", path="/",
                            secure=self._secure_cookie(request),
                            max_age=int(self.sessions.lifetime_s))
        response.del_cookie(LOGIN_COOKIE, path="/login")
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        form = await request.post()
        checked = self._authorised(request, form)
        if isinstance(checked, web.Response):
            return checked
        self.sessions.end(request.cookies.get(SESSION_COOKIE))
        response = web.HTTPSeeOther("/")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response

    # -- the RT head's actions ----------------------------------------------------------------

    async def _act(self, request: web.Request, action) -> web.Response:
        form = await request.post()
        checked = self._authorised(request, form)
        if isinstance(checked, web.Response):
            return checked
        try:
            message = await action(form)
        except HubOffline:
            return _json({"ok": False, "error": "Hub tidak terhubung ke broker; coba lagi "
                          "sebentar lagi."}, 503)
        except (ValueError, KeyError) as e:
            return _json({"ok": False, "error": str(e.args[0]) if e.args else "Permintaan salah."}, 400)
        if "application/json" not in request.headers.get("Accept", ""):
            raise web.HTTPSeeOther("/")  # a plain form post (no JavaScript)
        return _json({"ok": True, "message": message})

    async def api_alert(self, request: web.Request) -> web.Response:
        async def act(form):
            alert_type = str(form.get("type", ""))
            if alert_type not in self.hub.alert_types:
                raise ValueError("Jenis peringatan tidak dikenal.")
            drill = str(form.get("drill", "")) in ("1", "on", "true")
            alert_id = await self.hub.broadcast_alert(alert_type, drill)
            what = "Latihan" if drill else "Peringatan"
            return f"{what} {self.hub.alert_types[alert_type]} terkirim ke semua rumah ({alert_id})."
        return await self._act(request, act)

    async def api_command(self, request: web.Request) -> web.Response:
        async def act(form):
            cmd = str(form.get("cmd", ""))
            if cmd not in ("selftest", "drill"):
                raise ValueError("Perintah tidak dikenal.")
            alert_type = str(form.get("type", "")) or None
            if cmd == "drill" and alert_type not in self.hub.alert_types:
                raise ValueError("Pilih jenis peringatan untuk latihan.")
            cmd_id = await self.hub.command(cmd, alert_type if cmd == "drill" else None)
            what = "Uji mandiri" if cmd == "selftest" else "Latihan"
            return (f"Perintah {what} terkirim ({cmd_id}); laporan rumah dinilai "
                    f"{self.hub.test_grace_s:g} detik kemudian, di bawah.")
        return await self._act(request, act)

    async def api_end(self, request: web.Request) -> web.Response:
        async def act(form):
            alert_id = str(form.get("id", ""))
            try:
                await self.hub.end_alert(alert_id)
            except KeyError:
                raise ValueError("Peringatan tidak ditemukan atau sudah berakhir.") from None
            return f"Peringatan {alert_id} diakhiri."
        return await self._act(request, act)


def _secure(h: Any, request: web.Request) -> None:
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    # same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on form posts
    h.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        h.setdefault("Cache-Control", "no-store")


def _offer(q: asyncio.Queue[str | None], item: str | None) -> None:
    """Newest state wins: a slow browser skips states instead of piling them up."""
    while True:
        try:
            q.put_nowait(item)
            return
        except asyncio.QueueFull:
            try:
                q.get_nowait()
            except asyncio.QueueEmpty:
                pass


def _event(data: str) -> bytes:
    return f"event: state\ndata: {data}\n\n".encode()


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data, separators=(",", ":")),
                        content_type="application/json", status=status)


def _same_origin(request: web.Request) -> bool:
    """A browser names the page that sent a POST; it must be this server's."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser's cross-site request (they all send Origin on POST)
    return urlsplit(origin).netloc == request.host


_LOGIN_PAGE = """<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Masuk — Kandig {net}</title>
<link rel="stylesheet" href="/static/style.css">
<link rel="icon" href="data:,">
</head>
<body class="login">
<main>
<h1>Kandig {net}</h1>
<p>Masuk sebagai Ketua RT untuk mengirim peringatan, perintah uji, dan mengakhiri peringatan.</p>
{note}{error}
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{token}">
<label>Nama pengguna <input name="user" value="{user}" autocomplete="username" required></label>
<label>Kata sandi <input name="password" type="password" autocomplete="current-password" required autofocus></label>
<button type="submit">Masuk</button>
</form>
<p><a href="/">Kembali ke papan pantau</a></p>
</main>
</body>
</html>
"""
