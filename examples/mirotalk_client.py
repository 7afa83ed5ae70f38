"""Call Parley's MiroTalk-compatible API the way MiroTalk SFU's own examples do.

Usage: API_KEY_SECRET=... BASE_URL=http://127.0.0.1:8080 python mirotalk_client.py

The requests have the shapes MiroTalk documents: JSON bodies, booleans as strings,
and the secret as it is in the `authorization` header. Nothing here is specific to
Parley, so the same script runs against a MiroTalk SFU server.
"""

import json
import os
import sys

import requests

API_KEY_SECRET = os.environ["API_KEY_SECRET"]
BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8080").rstrip("/")
ROOM = os.environ.get("ROOM", "test")

headers = {"authorization": API_KEY_SECRET, "Content-Type": "application/json"}


def call(method, path, body=None):
    response = requests.request(
        method, f"{BASE_URL}/api/v1{path}", headers=headers, json=body, timeout=10
    )
    print(f"{method} {path}: {response.status_code} {json.dumps(response.json())}")
    response.raise_for_status()
    return response.json()


call("POST", "/meeting")
call(
    "POST",
    "/join",
    {
        "room": ROOM,
        "roomPassword": "false",
        "name": "mirotalksfu",
        "avatar": "false",
        "audio": "false",
        "video": "false",
        "screen": "false",
        "chat": "false",
        "hide": "false",
        "notify": "true",
        "duration": "unlimited",
        "token": {
            "username": "username",
            "password": "password",
            "presenter": "true",
            "expire": "1h",
        },
    },
)
call("POST", "/token", {"username": "username", "presenter": "true", "expire": "1h"})
call("GET", "/stats")
call("GET", "/activeRooms")
call("DELETE", f"/meeting/{ROOM}", {})
sys.exit(0)
