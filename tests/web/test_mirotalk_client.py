"""The example MiroTalk client scripts, run unchanged against Parley on loopback."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.live import free_port, live_parley
from tests.web.test_openapi import SECRET, build_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    port = free_port()
    settings = build_settings(tmp_path_factory.mktemp("client"), port)
    with live_parley(settings, port):
        yield f"http://127.0.0.1:{port}"


def run(command, base_url, secret=SECRET):
    environment = {**os.environ, "API_KEY_SECRET": secret, "BASE_URL": base_url}
    return subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=60
    )


def test_python_client_runs_unchanged(base_url):
    result = run([sys.executable, str(EXAMPLES / "mirotalk_client.py")], base_url)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith('POST /meeting: 200 {"meeting": "http://127.0.0.1:')
    assert lines[1].startswith('POST /join: 200 {"join": ')
    assert "/join/test?name=mirotalksfu&audio=0&video=0&token=" in lines[1]
    assert lines[2].startswith('POST /token: 200 {"token": ')
    assert lines[3].startswith('GET /stats: 200 {"success": true')
    assert lines[4] == 'GET /activeRooms: 200 {"activeRooms": []}'
    assert lines[5] == (
        'DELETE /meeting/test: 200 {"success": true, "message": "Meeting ended", '
        '"error": null, "room": "test"}'
    )


def test_python_client_with_wrong_secret_fails(base_url):
    result = run(
        [sys.executable, str(EXAMPLES / "mirotalk_client.py")],
        base_url,
        secret="wrong-secret",
    )

    assert result.returncode != 0
    assert result.stdout == 'POST /meeting: 403 {"error": "Unauthorized!"}\n'


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_client_runs_unchanged(base_url):
    result = run(["sh", str(EXAMPLES / "mirotalk_client.sh")], base_url)

    assert result.returncode == 0, result.stdout + result.stderr
    meeting, join, stats = result.stdout.splitlines()
    assert urlsplit(meeting.split('"')[3]).path.startswith("/join/meeting-")
    assert '"join":"http://127.0.0.1:' in join
    assert '"totalRooms":0' in stats
