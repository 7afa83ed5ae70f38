import pytest
from fastapi.testclient import TestClient

from parley.app import create_app
from parley.config import load_settings
from tests.support.fakes import FakeMediaGateway

TOKEN = "t0k3n-for-tests"


@pytest.fixture
def gateway():
    return FakeMediaGateway()


@pytest.fixture
def settings(tmp_path):
    return load_settings(
        environ={"PARLEY_MATTERMOST_TOKENS": TOKEN, "PARLEY_DATA_DIR": str(tmp_path)}
    )


@pytest.fixture
def client(settings, gateway):
    with TestClient(create_app(settings, gateway=gateway)) as client:
        yield client


@pytest.fixture
def slug(client):
    reply = client.post(
        "/mattermost",
        data={"token": TOKEN, "command": "/sfu", "text": "standup", "user_name": "bob"},
    ).json()
    return reply["attachments"][0]["title_link"].rsplit("/", 1)[1]
