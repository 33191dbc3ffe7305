"""Security headers on every page: a CSP without inline script or style, frame denial, no
sniffing; and in production mode, session cookies only over HTTPS with HSTS."""

from cryptography.fernet import Fernet

from tests.web.support import PASSWORD, sign_in


def test_pages_and_errors_carry_the_security_headers(client):
    for path in ("/sign-in", "/no-such-page"):
        response = client.get(path)
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp
    api = client.get("/api/v1/me")
    assert api.headers["X-Content-Type-Options"] == "nosniff" and api.status_code == 401


def test_production_mode_sends_secure_cookies_and_hsts(make_app, fakes):
    source, assess = fakes
    app = make_app({"ENV": "production", "SECRET_KEY": "p" * 48, "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                    "SESSION_COOKIE_SECURE": None},
                   plugins=[("fakesource", source), ("fakeassess", assess)], entry_points=False)
    from tests.web.support import seed

    seeded = seed(app)
    client = app.test_client()
    response = sign_in(client, seeded.email("super_admin"), PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
