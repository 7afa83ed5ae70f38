import json

import pytest

from parley.cli import main
from parley.config import load_settings
from parley.errors import ConfigError


def test_defaults_without_file_or_environment():
    settings = load_settings(environ={})

    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8080
    assert settings.server.public_url == "http://127.0.0.1:8080"
    assert settings.mattermost.tokens == []
    assert [c.name for c in settings.mattermost.commands] == ["/sfu"]
    assert settings.janus.url is None


def test_environment_overrides_file(tmp_path):
    path = tmp_path / "parley.toml"
    path.write_text('[server]\nport = 9000\npublic_url = "https://a.example"\n')

    settings = load_settings(path, environ={"PARLEY_PORT": "9100"})

    assert settings.server.port == 9100
    assert settings.server.public_url == "https://a.example"


def test_config_path_from_environment(tmp_path):
    path = tmp_path / "parley.toml"
    path.write_text('[mattermost]\nlocale = "en"\n')

    settings = load_settings(environ={"PARLEY_CONFIG": str(path)})

    assert settings.mattermost.locale == "en"


def test_lists_are_comma_separated():
    settings = load_settings(
        environ={
            "PARLEY_MATTERMOST_TOKENS": "aaa, bbb,",
            "PARLEY_JANUS_INTERFACES": "pbr0",
        }
    )

    assert [t.get_secret_value() for t in settings.mattermost.tokens] == ["aaa", "bbb"]
    assert settings.janus.interfaces == ["pbr0"]


def test_commands_with_messages(tmp_path):
    path = tmp_path / "parley.toml"
    path.write_text(
        "[mattermost]\n"
        'commands = [{name = "/SFU", message = "Room:"}, {name = "/meet"}]\n'
    )

    settings = load_settings(path, environ={})

    assert [c.name for c in settings.mattermost.commands] == ["/sfu", "/meet"]
    assert settings.message_for(settings.mattermost.commands[0]) == "Room:"
    assert settings.message_for(settings.mattermost.commands[1]) == "这是您的会议室:"


def test_unknown_key_names_the_key(tmp_path):
    path = tmp_path / "parley.toml"
    path.write_text("[server]\nprot = 8080\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})

    assert caught.value.key == "server.prot"
    assert str(caught.value) == (
        f"Unknown setting 'server.prot' in {path}; check its spelling and section."
    )


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"PARLEY_PORT": "eighty"})

    assert caught.value.key == "server.port"
    assert "(from PARLEY_PORT)" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PARLEY_PUBLIC_URL", "meet.example.org"),
        ("PARLEY_JANUS_URL", "http://127.0.0.1:8188"),
        ("PARLEY_JANUS_RTP_PORT_RANGE", "40000-20000"),
        ("PARLEY_LOCALE", "fr"),
        ("PARLEY_RESPONSE_TYPE", "channel"),
        ("PARLEY_PORT", "70000"),
    ],
)
def test_invalid_values_stop_the_start(name, value):
    with pytest.raises(ConfigError):
        load_settings(environ={name: value})


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_invalid_toml_is_reported(tmp_path):
    path = tmp_path / "parley.toml"
    path.write_text("[server\n")

    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, environ={})


def test_check_config_redacts_tokens(monkeypatch, capsys):
    monkeypatch.setenv("PARLEY_MATTERMOST_TOKENS", "supersecrettoken")
    monkeypatch.setenv("PARLEY_DATABASE_URL", "postgresql+asyncpg://u:pw@db/parley")

    assert main(["check-config"]) == 0

    output = capsys.readouterr().out
    assert "supersecrettoken" not in output
    assert "pw@db" not in output
    assert json.loads(output)["mattermost"]["tokens"] == ["**********"]


def test_check_config_reports_bad_key(monkeypatch, capsys):
    monkeypatch.setenv("PARLEY_PORT", "x")

    assert main(["check-config"]) == 2
    assert "PARLEY_PORT" in capsys.readouterr().err


def test_public_url_follows_port_when_unset():
    settings = load_settings(environ={"PARLEY_PORT": "9100"})

    assert settings.server.public_url == "http://127.0.0.1:9100"


def test_public_url_for_wildcard_host_uses_loopback():
    settings = load_settings(environ={"PARLEY_HOST": "0.0.0.0", "PARLEY_PORT": "9100"})

    assert settings.server.public_url == "http://127.0.0.1:9100"


def test_explicit_public_url_wins_over_port():
    settings = load_settings(
        environ={
            "PARLEY_PORT": "9100",
            "PARLEY_PUBLIC_URL": "https://meet.example.org/",
        }
    )

    assert settings.server.public_url == "https://meet.example.org"


def test_misspelled_environment_variable_stops_start():
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"PARLEY_PROT": "9000"})

    assert str(caught.value) == (
        "Unknown environment variable PARLEY_PROT; check its spelling against the "
        "README's configuration table."
    )


BOT_URL = "http://127.0.0.1:8065"


def test_bot_settings_from_environment():
    settings = load_settings(
        environ={
            "PARLEY_MATTERMOST_URL": BOT_URL + "/",
            "PARLEY_MATTERMOST_BOT_TOKEN": "bot-token-value",
            "PARLEY_MEETING_GRACE_SECONDS": "30",
        }
    )

    assert settings.mattermost.url == BOT_URL
    assert settings.mattermost.bot_enabled
    assert settings.mattermost.bot_token.get_secret_value() == "bot-token-value"
    assert settings.rooms.grace_seconds == 30
    assert settings.callback_url == settings.server.public_url


def test_bot_login_from_environment():
    settings = load_settings(
        environ={
            "PARLEY_MATTERMOST_URL": BOT_URL,
            "PARLEY_MATTERMOST_USERNAME": "parley",
            "PARLEY_MATTERMOST_PASSWORD": "pw-value",
        }
    )

    assert settings.mattermost.username == "parley"
    assert settings.mattermost.password.get_secret_value() == "pw-value"


def test_bot_is_off_by_default():
    settings = load_settings(environ={})

    assert not settings.mattermost.bot_enabled
    assert settings.rooms.grace_seconds == 120


@pytest.mark.parametrize(
    ("environ", "reason"),
    [
        ({"PARLEY_MATTERMOST_URL": BOT_URL}, "needs mattermost.bot_token"),
        ({"PARLEY_MATTERMOST_BOT_TOKEN": "x"}, "need mattermost.url"),
        (
            {"PARLEY_MATTERMOST_URL": BOT_URL, "PARLEY_MATTERMOST_USERNAME": "p"},
            "give both mattermost.username and mattermost.password",
        ),
        (
            {
                "PARLEY_MATTERMOST_URL": BOT_URL,
                "PARLEY_MATTERMOST_BOT_TOKEN": "x",
                "PARLEY_MATTERMOST_USERNAME": "p",
                "PARLEY_MATTERMOST_PASSWORD": "q",
            },
            "not both",
        ),
        (
            {"PARLEY_MATTERMOST_URL": "chat.example.org"},
            "is not an http(s) URL",
        ),
        ({"PARLEY_MEETING_GRACE_SECONDS": "-1"}, "rooms.grace_seconds"),
    ],
)
def test_bad_bot_settings_name_the_problem(environ, reason):
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ)

    assert reason in str(caught.value)


def test_check_config_redacts_bot_secrets(monkeypatch, capsys):
    monkeypatch.setenv("PARLEY_MATTERMOST_URL", BOT_URL)
    monkeypatch.setenv("PARLEY_MATTERMOST_USERNAME", "parley")
    monkeypatch.setenv("PARLEY_MATTERMOST_PASSWORD", "hunter2-password")

    assert main(["check-config"]) == 0

    output = capsys.readouterr().out
    assert "hunter2-password" not in output
    assert json.loads(output)["mattermost"]["password"] == "**********"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "http://u:hunter2pw@127.0.0.1:8065",
            "must not contain a user name or password",
        ),
        (
            "ftp://u:hunter2pw@chat.example.org",
            "must not contain a user name or password",
        ),
        ("https://chat.example.org/?token=x", "must not have a query or fragment"),
        ("https://chat.example.org:99999", "has an invalid port"),
        ("https://chat.example.org:port", "has an invalid port"),
    ],
)
def test_bad_mattermost_url_is_rejected(url, reason):
    environ = {"PARLEY_MATTERMOST_URL": url, "PARLEY_MATTERMOST_BOT_TOKEN": "t"}

    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ)

    assert reason in str(caught.value)
    assert "hunter2pw" not in str(caught.value)


def test_blank_bot_token_is_rejected():
    environ = {"PARLEY_MATTERMOST_URL": BOT_URL, "PARLEY_MATTERMOST_BOT_TOKEN": "  "}

    with pytest.raises(ConfigError, match="must not be empty or blank"):
        load_settings(environ=environ)


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"PARLEY_JANUS_URL": "ws://u:hunter2pw@127.0.0.1:41999"}, "janus.url"),
        ({"PARLEY_PUBLIC_URL": "https://u:hunter2pw@meet.example.org"}, "public_url"),
        (
            {
                "PARLEY_MATTERMOST_URL": BOT_URL,
                "PARLEY_MATTERMOST_BOT_TOKEN": "t",
                "PARLEY_MATTERMOST_CALLBACK_URL": "http://u:hunter2pw@127.0.0.1:8080",
            },
            "callback_url",
        ),
    ],
)
def test_password_in_any_url_is_rejected_unprinted(environ, key):
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ)

    assert key in str(caught.value)
    assert "must not contain a user name or password" in str(caught.value)
    assert "hunter2pw" not in str(caught.value)


@pytest.mark.parametrize(
    "zone", ["localtime", "Factory", "posix/Europe/Berlin", "Mars"]
)
def test_default_timezone_must_be_a_zone_name(zone):
    with pytest.raises(ConfigError, match="is not an IANA time zone name"):
        load_settings(environ={"PARLEY_DEFAULT_TIMEZONE": zone})
