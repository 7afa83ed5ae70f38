"""Every message Parley writes into Mattermost, in English and Simplified Chinese."""

from __future__ import annotations

from typing import Literal

from parley.scheduling.messages import SCHEDULE_MESSAGES

Locale = Literal["zh", "en"]

MESSAGES: dict[str, dict[Locale, str]] = {
    "usage": {
        "en": (
            "Video meetings in this channel:\n"
            "- `{trigger}` opens a meeting room, or offers the one already open here\n"
            "- `{trigger} <title>` does the same with a title, "
            "such as `{trigger} weekly sync`\n"
            "- `{trigger} new [title]` opens another room even if one is open\n"
            "- `{trigger} list` lists the open meetings of this channel\n"
            "- `{trigger} end` ends this channel's meeting for everyone "
            "(its starter or a channel admin)\n"
            "- `{trigger} help` shows this message"
        ),
        "zh": (
            "在本频道开视频会议:\n"
            "- `{trigger}` 新建会议室;本频道已有会议时给出该会议\n"
            "- `{trigger} <标题>` 同上,带标题,例如 `{trigger} 周会`\n"
            "- `{trigger} new [标题]` 即使已有会议也新建一个\n"
            "- `{trigger} list` 列出本频道进行中的会议\n"
            "- `{trigger} end` 为所有人结束本频道的会议(发起人或频道管理员)\n"
            "- `{trigger} help` 显示本帮助"
        ),
    },
    "unknown_command": {
        "en": "Parley does not handle `{trigger}`. It handles {triggers}.\n\n{usage}",
        "zh": "Parley 不处理 `{trigger}`,可用的命令是 {triggers}。\n\n{usage}",
    },
    "default_title": {
        "en": "{user}'s meeting",
        "zh": "{user} 的会议",
    },
    "starter": {"en": "Started by", "zh": "发起人"},
    "creating": {
        "en": "Creating your meeting room *{title}*… the link follows in a moment.",
        "zh": "正在创建会议室 *{title}*……链接稍后发出。",
    },
    "media_unavailable": {
        "en": (
            "Video meetings are unavailable right now: Parley cannot reach its media "
            "server. Try again in a minute; if it persists, ask your administrator to "
            "check Parley's /healthz page."
        ),
        "zh": (
            "视频会议暂时不可用:Parley 无法连接媒体服务器。请稍后重试;"
            "如果问题持续,请联系管理员检查 Parley 的 /healthz 页面。"
        ),
    },
    "creation_failed": {
        "en": "Parley could not create the meeting room *{title}*. Please try again.",
        "zh": "无法创建会议室 *{title}*,请重试。",
    },
    "text_too_long": {
        "en": "The text after the command is {size} bytes long; the limit is {limit}.",
        "zh": "命令后的文字有 {size} 字节,上限是 {limit}。",
    },
    "title_too_long": {
        "en": "The meeting title is {length} characters long; keep it under {limit}.",
        "zh": "会议标题有 {length} 个字符,请控制在 {limit} 个以内。",
    },
    "meeting_open_here": {
        "en": (
            "A meeting is already open in this channel: **{title}**, "
            "started by @{starter}. Join it here: {link}\n"
            "Type `{trigger} new` to open another room."
        ),
        "zh": (
            "本频道已有进行中的会议:**{title}**,发起人 @{starter}。"
            "加入链接:{link}\n输入 `{trigger} new` 可另开一个会议室。"
        ),
    },
    "list_empty": {
        "en": "No meeting is open in this channel. Type `{trigger}` to start one.",
        "zh": "本频道没有进行中的会议。输入 `{trigger}` 发起一个。",
    },
    "list_header": {
        "en": "Open meetings in this channel:",
        "zh": "本频道进行中的会议:",
    },
    "list_item": {
        "en": "- **{title}**, started by @{starter}, {count} in it: {link}",
        "zh": "- **{title}**,发起人 @{starter},{count} 人在会:{link}",
    },
    "end_nothing_open": {
        "en": "No meeting is open in this channel, so there is nothing to end.",
        "zh": "本频道没有进行中的会议,无需结束。",
    },
    "end_not_allowed": {
        "en": (
            "Only @{starter}, who started **{title}**, or a channel admin can end "
            "it for everyone. You can leave the meeting at any time."
        ),
        "zh": (
            "只有会议 **{title}** 的发起人 @{starter} 或频道管理员"
            "可以为所有人结束会议。您可以随时离开会议。"
        ),
    },
    "end_done": {
        "en": "You ended **{title}** for everyone.",
        "zh": "您已为所有人结束会议 **{title}**。",
    },
    "end_already": {
        "en": "**{title}** has already ended.",
        "zh": "会议 **{title}** 已经结束。",
    },
    "action_invalid": {
        "en": "This button is no longer valid. Type `/sfu list` to see open meetings.",
        "zh": "此按钮已失效。输入 `/sfu list` 查看进行中的会议。",
    },
    "post_started": {
        "en": "@{starter} started a meeting: **{title}**",
        "zh": "@{starter} 发起了会议:**{title}**",
    },
    "post_join": {"en": "Join the meeting", "zh": "加入会议"},
    "post_in_meeting": {"en": "In the meeting ({count})", "zh": "在会人员({count})"},
    "post_nobody_yet": {"en": "Nobody yet", "zh": "暂无"},
    "post_started_at": {"en": "Started", "zh": "开始时间"},
    "post_not_started": {
        "en": "Waiting for the first person",
        "zh": "等待第一位参会者",
    },
    "post_end_button": {"en": "End meeting", "zh": "结束会议"},
    "post_ended": {
        "en": "Meeting **{title}**, started by @{starter}, has ended.",
        "zh": "会议 **{title}**(发起人 @{starter})已结束。",
    },
    "post_ended_at": {"en": "Ended", "zh": "结束时间"},
    "post_duration": {"en": "Duration", "zh": "时长"},
    "post_took_part": {"en": "Took part ({count})", "zh": "参会人员({count})"},
    "post_nobody_joined": {"en": "Nobody joined", "zh": "无人加入"},
    "duration_seconds": {"en": "{seconds} s", "zh": "{seconds} 秒"},
    "duration_minutes": {"en": "{minutes} min", "zh": "{minutes} 分钟"},
    "duration_hours": {
        "en": "{hours} h {minutes} min",
        "zh": "{hours} 小时 {minutes} 分钟",
    },
    "schedule_usage": {
        "en": (
            "Schedule a meeting in this channel:\n"
            "- `{trigger} schedule <when> <title> [@user …] [--remind 5m]`, such as "
            "`{trigger} schedule tomorrow 9:30 standup @alice`\n"
            "- `{trigger} schedule every weekday 9:30 standup` repeats it\n"
            "- `{trigger} schedule list` lists the meetings scheduled here\n"
            "- `{trigger} schedule cancel <id>` cancels one"
        ),
        "zh": (
            "在本频道预约会议:\n"
            "- `{trigger} schedule <时间> <标题> [@用户 …] [--remind 5m]`,例如 "
            "`{trigger} schedule 明天 10:00 周会 @alice`\n"
            "- `{trigger} schedule 每周一 10:00 周会` 每周重复\n"
            "- `{trigger} schedule list` 列出本频道预约的会议\n"
            "- `{trigger} schedule cancel <编号>` 取消预约"
        ),
    },
    "schedule_needs_bot": {
        "en": (
            "Scheduling needs Parley's bot, which posts the reminders. Ask your "
            "administrator to set PARLEY_MATTERMOST_URL and "
            "PARLEY_MATTERMOST_BOT_TOKEN."
        ),
        "zh": (
            "预约会议需要 Parley 的机器人账号来发送提醒。请联系管理员设置 "
            "PARLEY_MATTERMOST_URL 和 PARLEY_MATTERMOST_BOT_TOKEN。"
        ),
    },
    "schedule_bot_not_in_channel": {
        "en": (
            "Parley's bot @{bot} cannot post in this channel, so it could not remind "
            "anyone. Add it with `/invite @{bot}`, then schedule the meeting again."
        ),
        "zh": (
            "Parley 的机器人 @{bot} 无法在本频道发言,因此无法发送提醒。"
            "请先用 `/invite @{bot}` 把它加入频道,再重新预约。"
        ),
    },
    "schedule_done": {
        "en": (
            "Scheduled **{title}** for {when}{repeat}. A reminder comes {remind}. "
            "Its id is `{id}`: `{trigger} schedule cancel {id}` cancels it."
        ),
        "zh": (
            "已预约 **{title}**:{when}{repeat}。{remind}。"
            "编号 `{id}`,取消请输入 `{trigger} schedule cancel {id}`。"
        ),
    },
    "schedule_zone_guessed": {
        "en": (
            "\nParley read the time in {zone}, because your Mattermost time zone "
            "could not be read."
        ),
        "zh": "\n无法读取您在 Mattermost 中的时区,已按 {zone} 理解时间。",
    },
    "schedule_remind_before": {
        "en": "{minutes} min before",
        "zh": "提前 {minutes} 分钟提醒",
    },
    "schedule_remind_hours": {
        "en": "{hours} h before",
        "zh": "提前 {hours} 小时提醒",
    },
    "schedule_remind_days": {
        "en": "{days} d before",
        "zh": "提前 {days} 天提醒",
    },
    "schedule_remind_seconds": {
        "en": "{seconds} s before",
        "zh": "提前 {seconds} 秒提醒",
    },
    "schedule_no_reminder": {
        "en": "only at the start",
        "zh": "开始时提醒",
    },
    "schedule_list_empty": {
        "en": "No meeting is scheduled in this channel.",
        "zh": "本频道没有预约的会议。",
    },
    "schedule_list_header": {
        "en": "Meetings scheduled in this channel (calendar feed: {feed}):",
        "zh": "本频道预约的会议(日历订阅:{feed}):",
    },
    "schedule_list_item": {
        "en": "- `{id}` **{title}**, {when}{repeat}, by @{organiser}",
        "zh": "- `{id}` **{title}**,{when}{repeat},预约人 @{organiser}",
    },
    "schedule_not_found": {
        "en": (
            "No scheduled meeting has the id `{id}`. `{trigger} schedule list` shows "
            "the ids."
        ),
        "zh": "没有编号为 `{id}` 的预约。输入 `{trigger} schedule list` 查看编号。",
    },
    "schedule_cancel_usage": {
        "en": "Give the id of the meeting to cancel: `{trigger} schedule cancel <id>`.",
        "zh": "请给出要取消的预约编号:`{trigger} schedule cancel <编号>`。",
    },
    "schedule_cancel_not_allowed": {
        "en": (
            "Only @{organiser}, who scheduled **{title}**, or a channel admin can "
            "cancel it."
        ),
        "zh": "只有预约人 @{organiser} 或频道管理员可以取消 **{title}**。",
    },
    "schedule_cancelled": {
        "en": "Cancelled **{title}** (`{id}`); its reminders will not be posted.",
        "zh": "已取消 **{title}**(`{id}`),不会再发送提醒。",
    },
    "schedule_already_over": {
        "en": "**{title}** (`{id}`) is no longer scheduled.",
        "zh": "**{title}**(`{id}`)已不在预约中。",
    },
    "announce_message": {
        "en": "@{organiser} scheduled a meeting: **{title}**",
        "zh": "@{organiser} 预约了会议:**{title}**",
    },
    "announce_when": {"en": "When", "zh": "时间"},
    "announce_repeats": {"en": "Repeats", "zh": "重复"},
    "announce_invited": {"en": "Invited", "zh": "受邀"},
    "announce_reminder": {"en": "Reminder", "zh": "提醒"},
    "announce_id": {"en": "Id", "zh": "编号"},
    "announce_calendar": {"en": "Add to calendar", "zh": "添加到日历"},
    "announce_cancel_button": {"en": "Cancel meeting", "zh": "取消会议"},
    "announce_cancelled": {
        "en": "~~{title}~~ was cancelled by @{by}.",
        "zh": "~~{title}~~ 已被 @{by} 取消。",
    },
    "reminder_message": {
        "en": "{mentions}Reminder: **{title}** starts at {when}. The room opens then.",
        "zh": "{mentions}提醒:**{title}** 将于 {when} 开始,届时会议室开放。",
    },
    "reminder_late": {
        "en": " (This reminder is late: Parley was not running at its time.)",
        "zh": "(此提醒已延迟:预定时间时 Parley 未在运行。)",
    },
    "room_opened_intro": {
        "en": "{mentions}**{title}** starts now.",
        "zh": "{mentions}**{title}** 现在开始。",
    },
}
MESSAGES.update(SCHEDULE_MESSAGES)


def message(key: str, locale: Locale, **values: object) -> str:
    return MESSAGES[key][locale].format(**values)
