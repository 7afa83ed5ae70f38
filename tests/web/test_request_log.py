"""The one log line Parley writes per HTTP request."""

import logging


def test_request_line_has_path_status_not_query(client, caplog):
    caplog.set_level(logging.INFO, logger="parley")

    client.get("/healthz?token=secret-in-query")
    client.get("/join/nope-aaaaaaaaaaaaaaaa")

    lines = [r.getMessage() for r in caplog.records if r.name == "parley"]
    assert any(line.startswith("GET /healthz 200 ") for line in lines)
    assert any(
        line.startswith("GET /join/nope-aaaaaaaaaaaaaaaa 404 ") for line in lines
    )
    assert not any("secret-in-query" in line for line in lines)


def test_routing_error_is_logged_with_status(client, caplog):
    caplog.set_level(logging.INFO, logger="parley")

    client.put("/mattermost")

    lines = [r.getMessage() for r in caplog.records if r.name == "parley"]
    assert any(line.startswith("PUT /mattermost 405 ") for line in lines)
