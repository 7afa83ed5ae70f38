"""The meeting page and its static files."""

import re

from parley.web.pages import STATIC
from tests.web.conftest import TOKEN


def test_unknown_room_gets_404_page(client):
    response = client.get("/join/nope-aaaaaaaaaaaaaaaa")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Meeting room not found" in response.text
    assert "会议室不存在" in response.text
    assert "nope-aaaaaaaaaaaaaaaa" in response.text


def test_meeting_page_shows_title_and_slug(client, slug):
    response = client.get(f"/join/{slug}")

    assert response.status_code == 200
    assert "<title>standup · Parley</title>" in response.text
    assert f'data-room-slug="{slug}"' in response.text
    assert response.headers["cache-control"] == "no-store"


def test_title_is_escaped_in_page(client):
    reply = client.post(
        "/mattermost",
        data={"token": TOKEN, "command": "/sfu", "text": '<script>alert("x")</script>'},
    ).json()
    link = reply["attachments"][0]["title_link"]

    page = client.get("/join/" + link.rsplit("/", 1)[1]).text

    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_unknown_slug_is_escaped_in_404(client):
    response = client.get("/join/%3Cb%3Ex")

    assert response.status_code == 404
    assert "<b>x" not in response.text
    assert "&lt;b&gt;x" in response.text


def test_page_scripts_are_served(client):
    response = client.get("/static/js/main.js")

    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]


def test_static_files_load_nothing_from_other_hosts():
    # Meetings must work on an air-gapped network: no CDN, no font or script host.
    external = re.compile(
        r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//"
        r"|url\(\s*[\"']?(?:https?:)?//"
        r"|import[^;]*[\"'](?:https?:)?//"
    )
    offenders = [
        str(path.relative_to(STATIC))
        for path in STATIC.rglob("*")
        if path.is_file() and external.search(path.read_text(encoding="utf-8"))
    ]

    assert offenders == []


def test_head_and_trailing_slash_serve_page(client, slug):
    head = client.head(f"/join/{slug}")
    slashed = client.get(f"/join/{slug}/")

    assert head.status_code == 200
    assert head.headers["content-type"].startswith("text/html")
    assert slashed.status_code == 200
    assert f'data-room-slug="{slug}"' in slashed.text


def test_unknown_room_with_slash_gets_404_page(client):
    response = client.get("/join/nope-aaaaaaaaaaaaaaaa/")

    assert response.status_code == 404
    assert "Meeting room not found" in response.text
