// The meeting page: asks for a name, joins the room through Parley, publishes the
// camera and microphone, and shows every other participant.
//
// States: lobby -> connecting -> joined -> left | ended | failed. The last three
// are final: the page shows why and offers a reload where rejoining can help.
//
// Tests read `window.parley` (see `hook` below) instead of scraping the page, and
// performance marks time the join: "parley:join" when the name is submitted and
// "parley:first-remote-frame" when the first remote video frame is decoded.

import { t, translatePage } from "./i18n.js";
import { log } from "./log.js";
import { DeviceError, openCamera, Publisher, Subscriber } from "./media.js";
import { Signaling, SignalingError, signalingUrl } from "./signaling.js";
import * as ui from "./ui.js";

const NAME_KEY = "parley.displayName";
// Parley closes the socket after `leave`; this page closes it only if Parley has
// not done so within this time.
const LEAVE_GRACE_MS = 2000;
const FINAL_STATES = new Set(["left", "ended", "failed"]);

// Parley's error codes and the message each shows; codes not listed show the
// message Parley sent, which is written for users.
const ERROR_MESSAGES = {
  room_not_found: "roomNotFound",
  room_ended: "roomEnded",
  room_full: "roomFull",
  media_unavailable: "mediaUnavailable",
  password_invalid: "passwordInvalid",
  too_many_attempts: "tooManyAttempts",
  token_expired: "tokenExpired",
  token_invalid: "tokenInvalid",
  internal: "serverError",
  bad_message: "serverError",
  not_joined: "serverError",
  already_joined: "serverError",
  connect_failed: "connectFailed",
  closed: "connectionLost",
  timeout: "serverError",
};

const room = {
  state: "lobby",
  /** @type {object | null} our own participant, from `joined` */
  you: null,
  /** @type {Map<string, object>} the other participants, by id */
  participants: new Map(),
  /** @type {MediaStream | null} our camera and microphone, once open */
  localStream: null,
  /** @type {Publisher | null} */
  publisher: null,
  /** @type {Map<string, Subscriber>} */
  subscribers: new Map(),
  /** @type {RTCIceServer[]} */
  iceServers: [],
  /** @type {Signaling | null} */
  signaling: null,
};

// The test hook. Peer connections are exposed so tests can call getStats().
const hook = {
  get state() {
    return room.state;
  },
  get you() {
    return room.you;
  },
  participants: room.participants,
  get publisher() {
    return room.publisher?.pc ?? null;
  },
  get subscribers() {
    return new Map([...room.subscribers].map(([id, subscriber]) => [id, subscriber.pc]));
  },
};
window.parley = hook;

function setState(next) {
  log.debug(`room ${room.state} -> ${next}`);
  room.state = next;
  document.body.dataset.state = next;
}

// ---- joining -----------------------------------------------------------------

// Join settings a REST API caller put in the link: `name`, `audio` and `video`
// ("0" or "false" start that device off), and `password` or `token`, which Parley
// checks on `join`.
function linkOptions(location) {
  const query = new URLSearchParams(location.search);
  const on = (key) => !["0", "false", "off"].includes((query.get(key) ?? "").toLowerCase());
  return {
    name: query.get("name") ?? "",
    audio: on("audio"),
    video: on("video"),
    password: query.get("password") ?? query.get("roomPassword") ?? undefined,
    token: query.get("token") ?? undefined,
  };
}

const options = linkOptions(location);

// Sends `join` until Parley accepts it, asking for the room password while the
// room needs one; a cancelled prompt gives up with Parley's error.
async function join(signaling, name) {
  let password = options.password;
  for (;;) {
    const frame = { type: "join", name, password, token: options.token };
    try {
      return await signaling.request(frame, "joined");
    } catch (error) {
      const asked = ["password_required", "password_invalid"].includes(error.code);
      if (!asked) throw error;
      // TODO: ask in the page instead of window.prompt, which some embedded
      // browsers suppress.
      password = window.prompt(t(error.code === "password_invalid" ? "passwordInvalid" : "passwordPrompt"));
      if (password === null) throw error;
    }
  }
}

async function enterRoom(name) {
  performance.mark("parley:join");
  setState("connecting");
  ui.showStage(name);
  ui.setStatus(t("joining"));

  // Open the camera while the socket connects and Parley handles the join.
  const camera = openCamera().then(keepLocalStream, (error) => error);
  const signaling = new Signaling(signalingUrl(location));
  room.signaling = signaling;
  listen(signaling);
  await signaling.connect();

  const joined = await join(signaling, name);
  onJoined(joined);
  await publishCamera(await camera);
}

// Holds the stream so `finish` can release the camera, even when the meeting ended
// for this page before the camera opened.
function keepLocalStream(camera) {
  room.localStream = camera.stream;
  if (FINAL_STATES.has(room.state)) stopLocalStream();
  return camera;
}

function stopLocalStream() {
  room.localStream?.getTracks().forEach((track) => track.stop());
}

function onJoined(frame) {
  room.you = frame.you;
  // NOTE: `ice_servers` is not in the protocol yet; Parley may add it to `joined`.
  room.iceServers = Array.isArray(frame.ice_servers) ? frame.ice_servers : [];
  setState("joined");
  ui.setStatus("");
  if (frame.room?.title) document.getElementById("room-title").textContent = frame.room.title;

  for (const participant of frame.participants) {
    room.participants.set(participant.id, participant);
    ui.showParticipant(participant);
    if (participant.publishing) subscribe(participant.id);
  }
}

async function publishCamera(camera) {
  if (room.state !== "joined") return;
  if (camera instanceof Error) {
    if (!(camera instanceof DeviceError)) throw camera;
    // Without a camera the page still shows and plays the others, and tells them
    // that this participant sends neither sound nor picture.
    ui.showError(t(camera.messageKey), { rejoin: camera.messageKey !== "noDevices" });
    ui.showMediaControls({ audio: false, video: false, hasAudio: false, hasVideo: false });
    room.signaling.send({ type: "media", audio: false, video: false });
    return;
  }
  if (camera.warningKey) ui.showError(t(camera.warningKey));

  ui.showLocalStream(camera.stream);
  const publisher = new Publisher(camera.stream, room.iceServers, {
    publish: (sdp) =>
      room.signaling.request({ type: "publish", sdp }, "published").then((frame) => frame.sdp),
    trickle: (candidate) => room.signaling.send({ type: "trickle", participant: null, candidate }),
  });
  room.publisher = publisher;
  // Devices the link turned off start muted; the buttons turn them on.
  if (!options.audio) publisher.setEnabled("audio", false);
  if (!options.video) publisher.setEnabled("video", false);
  if (!options.audio || !options.video) {
    room.signaling.send({ type: "media", audio: options.audio, video: options.video });
  }
  showMediaState();
  publisher.pc.addEventListener("connectionstatechange", () => {
    // The others are still shown, so the meeting goes on for this page.
    if (publisher.pc.connectionState === "failed") {
      ui.showError(t("publishFailed"), { rejoin: true });
    }
  });
  await publisher.publish();
}

// ---- frames from Parley ------------------------------------------------------

// Parley also sends some frames about ourselves (`participant_updated` when our
// own media reaches Janus); those must not create a tile for us.
function isYou(participantId) {
  return participantId === room.you?.id;
}

function listen(signaling) {
  signaling.on("participant_joined", (frame) => {
    if (isYou(frame.participant.id)) return;
    room.participants.set(frame.participant.id, frame.participant);
    ui.showParticipant(frame.participant);
    ui.notify(t("participantJoined", { name: frame.participant.name }));
  });
  signaling.on("participant_updated", (frame) => onParticipantUpdated(frame.participant));
  signaling.on("participant_left", (frame) => onParticipantLeft(frame.participant));
  signaling.on("stream_available", (frame) => {
    if (!isYou(frame.participant)) subscribe(frame.participant);
  });
  signaling.on("offer", (frame) => {
    onOffer(frame).catch((error) => failSubscriber(frame.participant, error));
  });
  signaling.on("room_ended", () => finish("ended", t("roomEnded")));
  signaling.on("error", (frame) => onErrorFrame(frame));
  signaling.onClose(() => {
    // A close after our own `leave`, or after a fatal error, is already reported.
    if (!FINAL_STATES.has(room.state)) fail(new SignalingError("closed", "socket closed", true));
  });
}

function onParticipantUpdated(participant) {
  if (isYou(participant.id)) {
    room.you = participant;
    return;
  }
  // An update can arrive after `participant_left` (the departure itself changes
  // the publishing state). Only `joined` and `participant_joined` add people.
  const known = room.participants.get(participant.id);
  if (!known) return;
  room.participants.set(participant.id, participant);
  ui.showParticipant(participant);
  // A participant who stopped publishing has no stream to receive any more; a new
  // `stream_available` starts a fresh subscription.
  if (known?.publishing && !participant.publishing) closeSubscriber(participant.id);
}

function onParticipantLeft(participantId) {
  const participant = room.participants.get(participantId);
  room.participants.delete(participantId);
  closeSubscriber(participantId);
  ui.removeParticipant(participantId);
  if (participant) ui.notify(t("participantLeft", { name: participant.name }));
}

function onErrorFrame(frame) {
  log.warn(`error frame: ${frame.code}`);
  if (frame.fatal) {
    fail(new SignalingError(frame.code, frame.message, true));
    return;
  }
  // Someone who left while we subscribed to them: `participant_left` follows.
  if (frame.code === "unknown_participant") return;
  ui.showError(messageFor(frame.code, frame.message));
}

// ---- subscribers -------------------------------------------------------------

function subscribe(participantId) {
  // `stream_available` can repeat a publisher already listed in `joined`; one
  // subscription per participant is enough.
  if (room.subscribers.has(participantId) || !room.participants.has(participantId)) return;

  const subscriber = new Subscriber(
    participantId,
    room.iceServers,
    {
      answer: (sdp) => room.signaling.send({ type: "answer", participant: participantId, sdp }),
      trickle: (candidate) =>
        room.signaling.send({ type: "trickle", participant: participantId, candidate }),
    },
    (stream) => ui.showParticipantStream(participantId, stream, markFirstFrame),
  );
  subscriber.pc.addEventListener("connectionstatechange", () =>
    ui.setTileConnection(participantId, subscriber.pc.connectionState),
  );
  room.subscribers.set(participantId, subscriber);
  ui.setTileConnection(participantId, "connecting");
  room.signaling.send({ type: "subscribe", participant: participantId });
}

async function onOffer(frame) {
  let subscriber = room.subscribers.get(frame.participant);
  if (!subscriber) {
    // An offer we did not ask for, e.g. after Parley renewed the subscription.
    subscribe(frame.participant);
    subscriber = room.subscribers.get(frame.participant);
  }
  if (!subscriber) return;
  await subscriber.acceptOffer(frame.sdp);
}

function closeSubscriber(participantId) {
  room.subscribers.get(participantId)?.close();
  room.subscribers.delete(participantId);
}

function failSubscriber(participantId, error) {
  log.error(`subscription to ${participantId} failed:`, error);
  ui.setTileConnection(participantId, "failed");
}

function markFirstFrame() {
  if (performance.getEntriesByName("parley:first-remote-frame").length === 0) {
    performance.mark("parley:first-remote-frame");
  }
}

// ---- controls ----------------------------------------------------------------

function showMediaState() {
  const publisher = room.publisher;
  ui.showMediaControls({
    audio: publisher.isEnabled("audio"),
    video: publisher.isEnabled("video"),
    hasAudio: publisher.has("audio"),
    hasVideo: publisher.has("video"),
  });
}

function toggle(kind) {
  const publisher = room.publisher;
  if (!publisher) return;
  publisher.setEnabled(kind, !publisher.isEnabled(kind));
  showMediaState();
  room.signaling.send({
    type: "media",
    audio: publisher.isEnabled("audio"),
    video: publisher.isEnabled("video"),
  });
}

function leave() {
  if (FINAL_STATES.has(room.state)) return;
  room.signaling?.send({ type: "leave" });
  finish("left", t("left"), { rejoin: true, graceMs: LEAVE_GRACE_MS });
}

// ---- endings -----------------------------------------------------------------

function finish(state, message, { rejoin = false, graceMs = 0 } = {}) {
  if (FINAL_STATES.has(room.state)) return;
  setState(state);
  // Once the state is final, the socket's close is no longer reported as a lost
  // connection.
  room.signaling?.close(graceMs);
  room.publisher?.close();
  stopLocalStream();
  for (const participantId of [...room.subscribers.keys()]) closeSubscriber(participantId);
  ui.showError(message, { rejoin, final: true });
}

function messageFor(code, serverMessage) {
  const key = ERROR_MESSAGES[code];
  return key ? t(key) : serverMessage || t("serverError");
}

// The one error path of every async step: log the error, end the meeting for this
// page and show the reason in words the user can act on.
function fail(error) {
  log.error("meeting failed:", error);
  let message;
  if (error instanceof SignalingError) message = messageFor(error.code, error.message);
  else if (error instanceof DeviceError) message = t(error.messageKey);
  else message = t("serverError");
  const ended = error instanceof SignalingError && error.code === "room_ended";
  finish(ended ? "ended" : "failed", message, { rejoin: !ended });
}

// ---- start -------------------------------------------------------------------

function rememberedName() {
  try {
    return localStorage.getItem(NAME_KEY) ?? "";
  } catch {
    return ""; // storage disabled, e.g. some private browsing modes
  }
}

function rememberName(name) {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    log.debug("cannot store the display name");
  }
}

async function start() {
  translatePage();
  ui.onControls({ mic: () => toggle("audio"), camera: () => toggle("video"), leave });
  window.addEventListener("pagehide", () => room.signaling?.send({ type: "leave" }));

  const name = await ui.askForName(options.name || rememberedName());
  rememberName(name);
  await enterRoom(name);
}

start().catch((error) => fail(error));
