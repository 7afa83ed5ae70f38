"""Chromium under Playwright, with a fake camera and microphone and no outside traffic.

NOTE: Playwright's own browser downloads are never used (there is no network to fetch
them from); the Debian Chromium at `CHROMIUM` is launched instead.
"""

from __future__ import annotations

from playwright.sync_api import Browser, BrowserContext, Playwright

CHROMIUM = "/usr/bin/chromium"

CHROMIUM_ARGS = [
    # A generated test pattern and tone stand in for the camera and the microphone,
    # and the permission prompt is accepted without a user.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    # No requests to Google's update, sync or component servers.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright: Playwright) -> Browser:
    """Launch headless Chromium from `CHROMIUM` with `CHROMIUM_ARGS`."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )


def new_participant(browser: Browser, locale: str = "en-US") -> BrowserContext:
    """Open a browser context that may use the camera and the microphone.

    Each participant gets a context of its own, so localStorage (the remembered
    display name) is not shared between them.
    """
    return browser.new_context(permissions=["camera", "microphone"], locale=locale)
