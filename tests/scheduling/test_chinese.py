from datetime import date

import pytest

from parley.scheduling.chinese import Leading, chinese_number, rewrite_leading

# Wednesday.
TODAY = date(2027, 1, 13)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("0", 0),
        ("7", 7),
        ("12", 12),
        ("零", 0),
        ("两", 2),
        ("九", 9),
        ("十", 10),
        ("十五", 15),
        ("二十", 20),
        ("二十三", 23),
        ("五十九", 59),
    ],
)
def test_chinese_number(text, number):
    assert chinese_number(text) == number


@pytest.mark.parametrize("text", ["一二", "十十", "百", "十二十", ""])
def test_chinese_number_rejects(text):
    with pytest.raises(ValueError, match="not a number"):
        chinese_number(text)


# What the layer hands to dateparser, for the forms dateparser 1.5 does not read
# on its own, and for forms it reads that pass through unchanged.
REWRITES = [
    ("明天 10:00 周会", Leading("明天 10:00", "明天 10:00", "周会")),
    ("明天10点开会", Leading("明天 10:00", "明天10点", "开会")),
    ("明日 9:30 x", Leading("明天 9:30", "明日 9:30", "x")),
    ("下周一 9:30 周会", Leading("2027-01-18 9:30", "下周一 9:30", "周会")),
    ("下个礼拜天 10:00 x", Leading("2027-01-24 10:00", "下个礼拜天 10:00", "x")),
    ("本周一 10:00 x", Leading("2027-01-11 10:00", "本周一 10:00", "x")),
    ("周天 10:00 x", Leading("星期日 10:00", "周天 10:00", "x")),
    ("今天下午3点 评审", Leading("今天 15:00", "今天下午3点", "评审")),
    ("今晚8点半 x", Leading("今天 20:30", "今晚8点半", "x")),
    ("明天 凌晨12点 x", Leading("明天 00:00", "明天 凌晨12点", "x")),
    ("明天 中午1点 x", Leading("明天 13:00", "明天 中午1点", "x")),
    ("明天 3点 x", Leading("明天 3:00", "明天 3点", "x")),
    ("明天 03点 x", Leading("明天 03:00", "明天 03点", "x")),
    ("明天 10点三刻 x", Leading("明天 10:45", "明天 10点三刻", "x")),
    ("明天 十点零五分 x", Leading("明天 10:05", "明天 十点零五分", "x")),
    ("1月15号 14:00 x", Leading("2027-01-15 14:00", "1月15号 14:00", "x")),
    ("1月10日 14:00 x", Leading("2028-01-10 14:00", "1月10日 14:00", "x")),
    ("2027年3月1号 9:00 x", Leading("2027-03-01 9:00", "2027年3月1号 9:00", "x")),
    ("2027年2月30日 9:00 x", Leading("2027年2月30日 9:00", "2027年2月30日 9:00", "x")),
    ("半小时后 x", Leading("30分钟后", "半小时后", "x")),
    ("一个半小时后 x", Leading("90分钟后", "一个半小时后", "x")),
    ("2小时后 x", Leading("120分钟后", "2小时后", "x")),
    ("3天后 10:00 x", Leading("3天后 10:00", "3天后 10:00", "x")),
    ("明天 下午 x", Leading("明天", "明天 下午", "x")),
    ("明天 10:00 周一例会", Leading("明天 10:00", "明天 10:00", "周一例会")),
    ("明天 晚上12点 x", Leading("明天", "明天 晚上", "12点 x")),
]


@pytest.mark.parametrize(("text", "leading"), REWRITES)
def test_rewrite_leading(text, leading):
    assert rewrite_leading(text, TODAY) == leading


@pytest.mark.parametrize(
    "text", ["15:00 周会", "tomorrow 9:30 x", "周会 明天 10:00", ""]
)
def test_non_chinese_start_is_left_alone(text):
    assert rewrite_leading(text, TODAY) is None
