"""Login, language switch, logout and password change in the browser, with the accessibility audit."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import PASSWORD, LiveServer, audit, login, screenshot


def test_login_page_language_switch_and_logout(page: Any, live_server: LiveServer) -> None:
    live_server.add_unit("Bauamt")
    live_server.add_user("berta", "clerk", unit="Bauamt")
    page.goto("/login")
    assert page.evaluate("document.documentElement.lang") == "de"
    assert page.locator("h1").inner_text() == "Anmelden"
    audit(page)
    screenshot(page, "login-de")
    page.get_by_role("link", name="English").click()
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("h1").inner_text() == "Log in"
    page.locator("#name").fill("berta")
    page.locator("#password").fill("wrong password")
    page.locator("form[action='/login'] button").click()
    assert "User name or password is wrong" in page.locator("main").inner_text()
    audit(page)
    login(page, "berta", PASSWORD)
    assert page.get_by_text("Logged in as berta").is_visible()
    page.get_by_role("button", name="Log out").click()
    assert page.url.endswith("/login")
    assert "You are logged out." in page.locator("main").inner_text()
    page.goto("/account/password")
    assert "/login?next=" in page.url


def test_password_change_ends_other_sessions(page: Any, browser: Any, live_server: LiveServer) -> None:
    live_server.add_unit("Gartenamt")
    live_server.add_user("paula", "approver", unit="Gartenamt")
    other = browser.new_context(base_url=live_server.url)
    try:
        second = other.new_page()
        login(second, "paula")
        login(page, "paula")
        page.get_by_role("link", name="Passwort ändern").click()
        audit(page)
        screenshot(page, "password-change")
        page.locator("#current").fill("falsch-falsch")
        page.locator("#new").fill("kurz")
        page.locator("#repeat").fill("anders")
        page.locator("form[action='/account/password'] button").click()
        errors = page.get_by_role("alert").inner_text()
        assert "aktuelle Passwort ist falsch" in errors and "zu kurz" in errors and "stimmen nicht" in errors
        audit(page)
        page.locator("#current").fill(PASSWORD)
        page.locator("#new").fill("Ganz-neu-und-lang-1")
        page.locator("#repeat").fill("Ganz-neu-und-lang-1")
        page.locator("form[action='/account/password'] button").click()
        assert "Ihr Passwort wurde geändert" in page.locator(".flashes").inner_text()
        page.goto("/staff/tasks")
        assert page.url.endswith("/staff/tasks")  # this session goes on
        second.goto("/staff/tasks")
        assert "/login" in second.url  # the other one has ended
        login(second, "paula", "Ganz-neu-und-lang-1")
    finally:
        other.close()
