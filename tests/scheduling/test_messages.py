import string
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from parley.scheduling.messages import SCHEDULE_MESSAGES
from parley.scheduling.when import ScheduleError, parse_schedule

NOW = datetime(2027, 1, 13, 3, tzinfo=UTC)

# One text for each error key that parse_schedule raises.
FAILING_TEXTS = {
    "schedule_unparseable": "board review",
    "schedule_ambiguous": "tomorrow standup",
    "schedule_ambiguous_hour": "tomorrow 3:00 review",
    "schedule_past": "today 03:00 review",
    "schedule_too_far": "2029-01-01 10:00 review",
    "schedule_recurring_date": "every monday tomorrow 10:00",
    "schedule_bad_remind": "tomorrow 9:30 review --remind 9d",
    "schedule_unknown_option": "tomorrow 9:30 review --agenda x",
}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_error_key_has_a_message():
    assert set(FAILING_TEXTS) <= set(SCHEDULE_MESSAGES)


@pytest.mark.parametrize("key", sorted(SCHEDULE_MESSAGES))
def test_languages_share_placeholders(key):
    texts = SCHEDULE_MESSAGES[key]

    assert set(texts) == {"en", "zh"}
    assert placeholders(texts["en"]) == placeholders(texts["zh"])


@pytest.mark.parametrize("locale", ["en", "zh"])
@pytest.mark.parametrize(("key", "text"), sorted(FAILING_TEXTS.items()))
def test_error_values_fill_the_message(key, text, locale):
    with pytest.raises(ScheduleError) as raised:
        parse_schedule(text, now=NOW, zone=ZoneInfo("Europe/Berlin"), locale=locale)
    error = raised.value

    message = SCHEDULE_MESSAGES[error.key][locale].format(
        trigger="/sfu", **error.values
    )

    assert error.key == key
    assert placeholders(SCHEDULE_MESSAGES[key][locale]) - {"trigger"} == set(
        error.values
    )
    assert "{" not in message
