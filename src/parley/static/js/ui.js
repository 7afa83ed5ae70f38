// Everything the page draws: the name form, the video tiles, the controls, the
// error banner and short notices. No networking here.

import { t } from "./i18n.js";
import { log } from "./log.js";

const NOTICE_MS = 4000;
const NAME_MAX_LENGTH = 64;

const byId = (id) => document.getElementById(id);

/**
 * Shows the name form and resolves with the trimmed name once it is submitted.
 * @param {string} initialName  Prefilled, typically the name used last time.
 * @returns {Promise<string>}
 */
export function askForName(initialName) {
  const form = byId("join-form");
  const input = byId("display-name");
  const hint = byId("name-hint");
  input.value = initialName;
  byId("lobby").hidden = false;
  input.focus();

  return new Promise((resolve) => {
    form.addEventListener("submit", function submitted(event) {
      event.preventDefault();
      const name = input.value.trim();
      if (name.length < 1 || name.length > NAME_MAX_LENGTH) {
        hint.textContent = t("nameInvalid");
        return;
      }
      form.removeEventListener("submit", submitted);
      byId("join-button").disabled = true;
      byId("join-button").textContent = t("joining");
      resolve(name);
    });
  });
}

/**
 * Hides the name form and shows the video tiles and the controls.
 * @param {string} name  Our own display name, for the local tile.
 */
export function showStage(name) {
  byId("local-name").textContent = t("you", { name });
  byId("lobby").hidden = true;
  byId("stage").hidden = false;
  byId("controls").hidden = false;
}

/**
 * Sets the one-line status under the room title.
 * @param {string} text
 */
export function setStatus(text) {
  byId("status").textContent = text;
}

/**
 * Shows our own camera in the local tile. The preview is muted, so we do not hear
 * ourselves, and mirrored by CSS, as people expect of a preview.
 * @param {MediaStream} stream
 */
export function showLocalStream(stream) {
  const video = byId("local-video");
  video.srcObject = stream;
  playVideo(video);
}

function tileOf(participantId) {
  return byId("tiles").querySelector(`.tile[data-participant="${CSS.escape(participantId)}"]`);
}

/**
 * Adds a tile for a remote participant, or updates the existing one.
 * @param {{id: string, name: string, audio: boolean, video: boolean}} participant
 */
export function showParticipant(participant) {
  let tile = tileOf(participant.id);
  if (!tile) {
    tile = byId("tile-template").content.firstElementChild.cloneNode(true);
    tile.dataset.participant = participant.id;
    tile.querySelector("video").dataset.participant = participant.id;
    byId("tiles").append(tile);
  }
  tile.querySelector(".name").textContent = participant.name;
  tile.querySelector(".avatar").textContent = initialOf(participant.name);
  tile.classList.toggle("camera-off", !participant.video);
  setBadge(tile, "muted", participant.audio ? null : t("badgeMuted"));
  setBadge(tile, "camera", participant.video ? null : t("badgeCameraOff"));
  updateWaiting();
}

function initialOf(name) {
  return Array.from(name.trim())[0]?.toUpperCase() ?? "?";
}

function setBadge(tile, kind, text) {
  const badge = tile.querySelector(`.badge-${kind}`);
  badge.hidden = text === null;
  badge.textContent = text ?? "";
}

/**
 * Sets the connection state shown on a participant's tile.
 * @param {string} participantId
 * @param {"connecting" | "connected" | "failed" | "idle"} state
 */
export function setTileConnection(participantId, state) {
  const tile = tileOf(participantId);
  if (!tile) return;
  const text = { connecting: t("badgeConnecting"), failed: t("badgeFailed") }[state];
  setBadge(tile, "connection", text ?? null);
}

/**
 * Plays a participant's stream in their tile.
 * @param {string} participantId
 * @param {MediaStream} stream
 * @param {() => void} onFirstFrame  Called once the first video frame is decoded.
 */
export function showParticipantStream(participantId, stream, onFirstFrame) {
  const tile = tileOf(participantId);
  if (!tile) return;
  const video = tile.querySelector("video");
  video.addEventListener(
    "loadeddata",
    () => {
      tile.classList.add("has-video");
      onFirstFrame();
    },
    { once: true },
  );
  video.srcObject = stream;
  playVideo(video);
}

/**
 * Removes a participant's tile and stops its video.
 * @param {string} participantId
 */
export function removeParticipant(participantId) {
  const tile = tileOf(participantId);
  if (!tile) return;
  tile.querySelector("video").srcObject = null;
  tile.remove();
  updateWaiting();
}

function updateWaiting() {
  byId("waiting").hidden = byId("tiles").querySelector(".tile.remote") !== null;
}

// A remote video carries the participant's sound, so it must not be muted.
// Browsers block sound until the user has interacted with the page. The "Join"
// click counts, but some browsers (Safari, embedded views) may still block it, so a
// button then lets the user start the sound.
function playVideo(video) {
  video.play().catch((error) => {
    if (error.name !== "NotAllowedError") return;
    log.info("autoplay with sound was blocked; asking for a click");
    const button = byId("sound-button");
    button.hidden = false;
    button.onclick = () => {
      button.hidden = true;
      for (const element of document.querySelectorAll("video")) element.play().catch(() => {});
    };
  });
}

/**
 * Sets the labels and pressed state of the microphone and camera buttons.
 * @param {{audio: boolean, video: boolean, hasAudio: boolean, hasVideo: boolean}} media
 */
export function showMediaControls(media) {
  const mic = byId("mic-button");
  mic.disabled = !media.hasAudio;
  mic.textContent = media.audio ? t("mute") : t("unmute");
  mic.setAttribute("aria-pressed", String(!media.audio));

  const camera = byId("camera-button");
  camera.disabled = !media.hasVideo;
  camera.textContent = media.video ? t("cameraOff") : t("cameraOn");
  camera.setAttribute("aria-pressed", String(!media.video));
  byId("local-tile").classList.toggle("camera-off", !media.video);
}

/**
 * Calls the handlers when the microphone, camera or leave button is clicked.
 * @param {{mic: () => void, camera: () => void, leave: () => void}} handlers
 */
export function onControls(handlers) {
  byId("mic-button").addEventListener("click", handlers.mic);
  byId("camera-button").addEventListener("click", handlers.camera);
  byId("leave-button").addEventListener("click", handlers.leave);
}

/**
 * Shows a message in the banner at the top. With `rejoin`, the banner offers a
 * button that reloads the page, which keeps the remembered name.
 * @param {string} text
 * @param {{rejoin?: boolean, final?: boolean}} [options]  `final` also hides the
 *   stage and the controls, for messages that end the meeting for this page.
 */
export function showError(text, { rejoin = false, final = false } = {}) {
  byId("error-text").textContent = text;
  byId("error").hidden = false;
  byId("error").classList.toggle("warning", !final);
  const button = byId("rejoin-button");
  button.hidden = !rejoin;
  button.onclick = () => location.reload();
  if (final) {
    byId("lobby").hidden = true;
    byId("stage").hidden = true;
    byId("controls").hidden = true;
  }
}

/**
 * Shows a short notice, such as "Ada joined", that disappears by itself.
 * @param {string} text
 */
export function notify(text) {
  const notice = document.createElement("p");
  notice.className = "notice";
  notice.textContent = text;
  byId("notices").append(notice);
  setTimeout(() => notice.remove(), NOTICE_MS);
}
