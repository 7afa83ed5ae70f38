// Every string the meeting page shows, in English and Simplified Chinese.
//
// The language is the first of the browser's preferred languages that the page has:
// any "zh" tag selects Chinese, anything else English.

const MESSAGES = {
  en: {
    nameLabel: "Your name",
    namePlaceholder: "The name others see",
    nameInvalid: "Enter a name of 1 to 64 characters.",
    join: "Join",
    joining: "Joining…",
    waiting: "You are the only one here. Others appear when they join.",
    you: "{name} (you)",
    mute: "Mute",
    unmute: "Unmute",
    cameraOff: "Stop camera",
    cameraOn: "Start camera",
    leave: "Leave",
    rejoin: "Rejoin",
    enableSound: "Click to turn on sound",
    participantJoined: "{name} joined",
    participantLeft: "{name} left",
    badgeMuted: "muted",
    badgeCameraOff: "camera off",
    badgeConnecting: "connecting…",
    badgeFailed: "video connection failed",
    left: "You left the meeting.",
    roomEnded: "The meeting has ended.",
    roomNotFound: "This meeting room does not exist. Check the link you were given.",
    roomFull: "The meeting room is full. Try again when someone leaves.",
    passwordPrompt: "This meeting room has a password. Enter it to join:",
    passwordInvalid: "That password is wrong. Enter the room password:",
    tooManyAttempts: "Too many wrong passwords. Reload the page to try again.",
    tokenExpired: "This meeting link has expired. Ask for a new one.",
    tokenInvalid: "This meeting link is not valid for this room. Ask for a new one.",
    mediaUnavailable:
      "The media server is not available, so the meeting cannot carry video now. Try again in a few minutes.",
    connectFailed: "Cannot reach the meeting server. Check your network connection, then rejoin.",
    connectionLost: "The connection to the meeting server was lost. Rejoin to continue.",
    publishFailed: "Others cannot see or hear you, because your video connection failed. Rejoin to try again.",
    serverError: "Something went wrong on the meeting server. Rejoin to try again.",
    cameraDenied:
      "Camera and microphone access was denied, so others cannot see or hear you. Allow access in the browser's site settings, then rejoin.",
    noDevices: "No camera or microphone was found. You can still see and hear the others.",
    noCamera: "No camera was found. Others can hear you but not see you.",
    noMicrophone: "No microphone was found. Others can see you but not hear you.",
    deviceBusy:
      "The camera or microphone is in use by another program. Close it, then rejoin so others can see and hear you.",
    insecureContext:
      "The browser allows the camera only on secure (https) pages. Ask the administrator to serve Parley over https.",
    unsupportedBrowser:
      "This browser cannot take part in video meetings. Use a current version of Chrome, Firefox, Edge or Safari.",
  },
  zh: {
    nameLabel: "您的名字",
    namePlaceholder: "其他人看到的名字",
    nameInvalid: "请输入 1 到 64 个字符的名字。",
    join: "加入",
    joining: "正在加入…",
    waiting: "会议室里只有您。其他人加入后会显示在这里。",
    you: "{name}（我）",
    mute: "静音",
    unmute: "取消静音",
    cameraOff: "关闭摄像头",
    cameraOn: "开启摄像头",
    leave: "离开",
    rejoin: "重新加入",
    enableSound: "点击开启声音",
    participantJoined: "{name} 加入了会议",
    participantLeft: "{name} 离开了会议",
    badgeMuted: "已静音",
    badgeCameraOff: "摄像头已关闭",
    badgeConnecting: "正在连接…",
    badgeFailed: "视频连接失败",
    left: "您已离开会议。",
    roomEnded: "会议已结束。",
    roomNotFound: "该会议室不存在。请检查您收到的链接。",
    roomFull: "会议室已满。请等有人离开后再试。",
    passwordPrompt: "该会议室设有密码,请输入密码加入:",
    passwordInvalid: "密码错误,请重新输入会议室密码:",
    tooManyAttempts: "密码错误次数过多。请刷新页面后重试。",
    tokenExpired: "该会议链接已过期,请索取新的链接。",
    tokenInvalid: "该会议链接对本会议室无效,请索取新的链接。",
    mediaUnavailable: "媒体服务器暂时不可用，会议现在无法传输视频。请几分钟后再试。",
    connectFailed: "无法连接会议服务器。请检查网络连接，然后重新加入。",
    connectionLost: "与会议服务器的连接已断开。请重新加入。",
    publishFailed: "您的视频连接失败，其他人无法看到或听到您。请重新加入再试。",
    serverError: "会议服务器出错。请重新加入再试。",
    cameraDenied:
      "摄像头和麦克风的访问被拒绝，其他人无法看到或听到您。请在浏览器的网站设置中允许访问，然后重新加入。",
    noDevices: "没有找到摄像头或麦克风。您仍然可以看到和听到其他人。",
    noCamera: "没有找到摄像头。其他人能听到您，但看不到您。",
    noMicrophone: "没有找到麦克风。其他人能看到您，但听不到您。",
    deviceBusy: "摄像头或麦克风正被其他程序使用。请关闭该程序，然后重新加入，让其他人能看到和听到您。",
    insecureContext: "浏览器只允许安全（https）页面使用摄像头。请联系管理员通过 https 提供 Parley。",
    unsupportedBrowser: "此浏览器无法参加视频会议。请使用最新版本的 Chrome、Firefox、Edge 或 Safari。",
  },
};

function pickLanguage(preferred) {
  for (const tag of preferred) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (base in MESSAGES) return base;
  }
  return "en";
}

/** The page's language: "en" or "zh". */
export const language = pickLanguage(navigator.languages ?? [navigator.language]);

/**
 * Returns the message `key` in the page's language, with each `{name}` placeholder
 * replaced from `params`. An unknown key is returned as it is, so a missing
 * translation shows up on screen instead of as a blank.
 * @param {string} key
 * @param {Record<string, string>} [params]
 * @returns {string}
 */
export function t(key, params = {}) {
  const template = MESSAGES[language][key] ?? MESSAGES.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => params[name] ?? whole);
}

/**
 * Translates the static markup: `data-i18n` sets an element's text and
 * `data-i18n-placeholder` its placeholder. Also sets the document's `lang`.
 * @param {ParentNode} root
 */
export function translatePage(root = document) {
  document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const element of root.querySelectorAll("[data-i18n-placeholder]")) {
    element.placeholder = t(element.dataset.i18nPlaceholder);
  }
}
