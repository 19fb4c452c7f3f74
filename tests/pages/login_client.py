"""A test client logged in through the login form (cookies + CSRF), for the 6A page tests.

Import the fixture into a test module: `from tests.pages.login_client import page_client`.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def page_client(app):
    """`page_client(user)`: a client logged in as `user`; `.hx_post(url, data)` sends the CSRF
    header like app.js does (and HX-Request), `.form_post(url, data)` the hidden field instead,
    `.hx_get(url)` asks for a fragment."""

    def login(user):
        client = app.test_client()
        resp = client.post("/login", data={"username": user.username,
                                           "password": user.password})
        assert resp.status_code in (302, 204), resp.data[:300]
        token = client.get_cookie("csrf_access_token").value

        def hx_post(url, data=None, **kw):
            return client.post(url, data=data or {}, headers={"X-CSRF-TOKEN": token,
                                                              "HX-Request": "true"}, **kw)

        def form_post(url, data=None, **kw):
            return client.post(url, data={**(data or {}), "csrf_token": token}, **kw)

        def hx_get(url, **kw):
            return client.get(url, headers={"HX-Request": "true"}, **kw)

        client.hx_post, client.form_post, client.hx_get = hx_post, form_post, hx_get
        client.user = user
        return client

    return login
