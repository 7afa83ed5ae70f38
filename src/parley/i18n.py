"""Every message Parley writes into Mattermost, in English and Simplified Chinese."""

from __future__ import annotations

from typing import Literal

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
}


def message(key: str, locale: Locale, **values: object) -> str:
    return MESSAGES[key][locale].format(**values)
