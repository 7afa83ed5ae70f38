"""Messages for `/sfu schedule` errors and notices, in English and Simplified Chinese.

The keys are the `key` of a ScheduleError, and the `{placeholders}` its `values`.
The dict has the shape of parley.i18n.MESSAGES, so it can be merged into it;
`{trigger}` is the slash command, as in the usage message there.
"""

from __future__ import annotations

from typing import Literal

Locale = Literal["zh", "en"]

SCHEDULE_MESSAGES: dict[str, dict[Locale, str]] = {
    "schedule_unparseable": {
        "en": (
            "Parley could not find a date and time at the start of `{text}`. "
            "Put the time first, then the title, for example:\n"
            "- `{trigger} schedule tomorrow 9:30 standup`\n"
            "- `{trigger} schedule 2027-01-15 14:00 board review`\n"
            "- `{trigger} schedule every monday 10:00 weekly sync`"
        ),
        "zh": (
            "无法在 `{text}` 的开头找到日期和时间。请先写时间,再写标题,例如:\n"
            "- `{trigger} schedule 明天 10:00 周会`\n"
            "- `{trigger} schedule 下周一 9:30 评审`\n"
            "- `{trigger} schedule 每个工作日 9:30 站会`"
        ),
    },
    "schedule_ambiguous": {
        "en": (
            "`{when}` has no time of day. Add one, for example:\n"
            "- `{trigger} schedule tomorrow 14:00 planning`\n"
            "- `{trigger} schedule friday 3pm retro`"
        ),
        "zh": (
            "`{when}` 没有具体时间,请加上时间,例如:\n"
            "- `{trigger} schedule 明天 14:00 计划会`\n"
            "- `{trigger} schedule 周五 下午3点 复盘`"
        ),
    },
    "schedule_ambiguous_hour": {
        "en": (
            "`{when}` could mean the night or the afternoon. Write the hour with a "
            "leading zero, am/pm or on the 24-hour clock, for example:\n"
            "- `{trigger} schedule tomorrow 15:00 review`\n"
            "- `{trigger} schedule tomorrow 3pm review`\n"
            "- `{trigger} schedule tomorrow 03:00 incident drill`"
        ),
        "zh": (
            "`{when}` 可能是凌晨,也可能是下午。请写明,例如:\n"
            "- `{trigger} schedule 明天 15:00 评审`\n"
            "- `{trigger} schedule 明天 下午3点 评审`\n"
            "- `{trigger} schedule 明天 凌晨3点 演练`"
        ),
    },
    "schedule_past": {
        "en": (
            "`{when}` is {start}, which has already passed. Pick a later time, "
            "for example `{trigger} schedule tomorrow 9:30 standup` or "
            "`{trigger} schedule in 30m demo`. To meet now, use `{trigger}`."
        ),
        "zh": (
            "`{when}` 是 {start},这个时间已经过去了。请选择以后的时间,例如 "
            "`{trigger} schedule 明天 9:30 站会` 或 "
            "`{trigger} schedule 30分钟后 演示`。"
            "现在就开会请用 `{trigger}`。"
        ),
    },
    "schedule_too_far": {
        "en": (
            "`{when}` is {start}, more than {max_days} days ahead. Parley schedules "
            "meetings up to {max_days} days ahead, for example "
            "`{trigger} schedule 2027-01-15 14:00 board review`."
        ),
        "zh": (
            "`{when}` 是 {start},超过了 {max_days} 天。Parley 只能预约 {max_days} 天"
            "以内的会议,例如 `{trigger} schedule 1月15日 14:00 董事会`。"
        ),
    },
    "schedule_recurring_date": {
        "en": (
            "A recurring meeting takes a time of day only, but `{when}` also names a "
            "date or a delay. For example:\n"
            "- `{trigger} schedule every weekday 9:30 standup`\n"
            "- `{trigger} schedule every monday 10:00 weekly sync`\n"
            "- `{trigger} schedule every day 17:00 wrap-up`"
        ),
        "zh": (
            "周期性会议只需要写一天中的时间,但 `{when}` 还包含了日期或延时。例如:\n"
            "- `{trigger} schedule 每个工作日 9:30 站会`\n"
            "- `{trigger} schedule 每周一 10:00 周会`\n"
            "- `{trigger} schedule 每天 17:00 日结`"
        ),
    },
    "schedule_bad_remind": {
        "en": (
            "`{value}` is not a valid reminder time. Give the time before the meeting "
            "in minutes (m), hours (h) or days (d), up to {max_days} days, for example "
            "`--remind 10m`, `--remind 1h` or `--remind 0` for a reminder at the start."
        ),
        "zh": (
            "`{value}` 不是有效的提醒时间。请写会前多久提醒,单位为分钟(m)、小时(h)"
            "或天(d),最多 {max_days} 天,例如 `--remind 10m`、`--remind 1h`,"
            "`--remind 0` 表示会议开始时提醒。"
        ),
    },
    "schedule_unknown_option": {
        "en": (
            "`{option}` is not an option of `{trigger} schedule`. The only option is "
            "`--remind <time>`, for example "
            "`{trigger} schedule tomorrow 9:30 standup --remind 5m`."
        ),
        "zh": (
            "`{trigger} schedule` 没有 `{option}` 这个选项。唯一的选项是 "
            "`--remind <时间>`,例如 `{trigger} schedule 明天 9:30 站会 --remind 5m`。"
        ),
    },
    # A notice, not an error: ScheduleRequest.skipped_by_dst is true.
    "schedule_offset": {
        "en": (
            "`{when}` has a UTC offset, which Parley does not read. Give the time in "
            "your own zone ({zone}), for example `{trigger} schedule tomorrow 14:00 "
            "review`."
        ),
        "zh": (
            "`{when}` 带有 UTC 偏移,Parley 不读取偏移。请按您的时区({zone})给出时间,"
            "例如 `{trigger} schedule 明天 14:00 评审`。"
        ),
    },
    # A notice, not an error: ScheduleRequest.repeated_by_dst is true.
    "schedule_repeated_by_dst": {
        "en": (
            "{requested} happens twice in {zone} because the clocks go back that "
            "night; the meeting is at the first, {start}."
        ),
        "zh": "{zone} 当晚时钟拨回,{requested} 会出现两次;会议定在第一次,即 {start}。",
    },
    "schedule_skipped_by_dst": {
        "en": (
            "{requested} does not exist in {zone} because the clocks go forward that "
            "night, so the meeting starts at {start}."
        ),
        "zh": "{zone} 当晚时钟拨快,不存在 {requested} 这个时间,会议改为 {start} 开始。",
    },
}
