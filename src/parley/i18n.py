"""Every message Parley writes into Mattermost, in English and Simplified Chinese."""

from __future__ import annotations

from typing import Literal

Locale = Literal["zh", "en"]

MESSAGES: dict[str, dict[Locale, str]] = {
    "usage": {
        "en": (
            "Start a video meeting in this channel:\n"
            "- `{trigger}` opens a new meeting room\n"
            "- `{trigger} <title>` opens one with a title, "
            "such as `{trigger} weekly sync`\n"
            "- `{trigger} help` shows this message"
        ),
        "zh": (
            "在本频道发起视频会议:\n"
            "- `{trigger}` 新建一个会议室\n"
            "- `{trigger} <标题>` 新建带标题的会议室,例如 `{trigger} 周会`\n"
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
}


def message(key: str, locale: Locale, **values: object) -> str:
    return MESSAGES[key][locale].format(**values)
