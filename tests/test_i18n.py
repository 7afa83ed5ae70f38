import string

import pytest

from parley.i18n import MESSAGES, message


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_message_exists_in_both_languages(key):
    texts = MESSAGES[key]

    assert set(texts) == {"en", "zh"}
    assert texts["en"].strip()
    assert texts["zh"].strip()


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_languages_take_same_placeholders(key):
    texts = MESSAGES[key]

    assert placeholders(texts["en"]) == placeholders(texts["zh"])


def test_message_fills_placeholders():
    assert message("end_done", "en", title="Standup") == (
        "You ended **Standup** for everyone."
    )
    assert message("end_done", "zh", title="周会") == "您已为所有人结束会议 **周会**。"
