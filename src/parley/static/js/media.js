// Camera and microphone, and the peer connections to Janus: one send-only
// publisher for our own media and one receive-only subscriber per remote
// participant. This module does not use the WebSocket: callers pass functions
// that carry SDP and candidates to Parley.

import { log } from "./log.js";

/** A failure to open the camera or microphone, with the i18n key that explains it. */
export class DeviceError extends Error {
  /**
   * @param {string} messageKey  An i18n key such as "cameraDenied".
   * @param {Error} [cause]
   */
  constructor(messageKey, cause) {
    super(cause?.message ?? messageKey);
    this.name = "DeviceError";
    this.messageKey = messageKey;
    this.cause = cause;
  }
}

const VIDEO_CONSTRAINTS = {
  width: { ideal: 640 },
  height: { ideal: 480 },
  frameRate: { ideal: 24 },
};

/**
 * Opens the camera and the microphone. When the machine lacks one of them, opens
 * the other alone and names the missing one in `warningKey`.
 * @returns {Promise<{stream: MediaStream, warningKey: string | null}>}
 * @throws {DeviceError} when neither device can be used.
 */
export async function openCamera() {
  if (!window.isSecureContext) throw new DeviceError("insecureContext");
  if (!navigator.mediaDevices?.getUserMedia || !window.RTCPeerConnection) {
    throw new DeviceError("unsupportedBrowser");
  }
  try {
    const stream = await getUserMedia({ audio: true, video: VIDEO_CONSTRAINTS });
    return { stream, warningKey: null };
  } catch (error) {
    if (error.messageKey !== "noDevices") throw error;
  }
  // One of the two devices is missing: try each alone.
  try {
    const stream = await getUserMedia({ audio: true });
    return { stream, warningKey: "noCamera" };
  } catch (error) {
    if (error.messageKey !== "noDevices") throw error;
  }
  const stream = await getUserMedia({ video: VIDEO_CONSTRAINTS });
  return { stream, warningKey: "noMicrophone" };
}

async function getUserMedia(constraints) {
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch (error) {
    throw new DeviceError(deviceErrorKey(error), error);
  }
}

function deviceErrorKey(error) {
  switch (error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "cameraDenied";
    case "NotFoundError":
    case "OverconstrainedError":
      return "noDevices";
    case "NotReadableError":
    case "AbortError":
      return "deviceBusy";
    default:
      return "unsupportedBrowser";
  }
}

// Trickles the candidates of `pc` through `trickle`, but only once `isDescriptionSent`
// returns true: a candidate sent before the SDP it belongs to would reach Parley
// for a connection it does not know yet.
function trickleCandidates(pc, trickle, isDescriptionSent) {
  const held = [];
  const sendOrHold = (candidate) => {
    if (isDescriptionSent()) trickle(candidate);
    else held.push(candidate);
  };
  pc.addEventListener("icecandidate", (event) => {
    // Some browsers end gathering with an empty candidate instead of null.
    const done = !event.candidate || !event.candidate.candidate;
    sendOrHold(done ? null : event.candidate.toJSON());
  });
  return () => held.splice(0).forEach(trickle);
}

/** Our own camera and microphone, sent to Janus over a send-only peer connection. */
export class Publisher {
  /**
   * @param {MediaStream} stream
   * @param {RTCIceServer[]} iceServers
   * @param {{
   *   publish: (sdp: string) => Promise<string>,
   *   trickle: (candidate: object | null) => void,
   * }} signal  `publish` sends the offer and resolves with Janus's answer.
   */
  constructor(stream, iceServers, signal) {
    this.stream = stream;
    this.signal = signal;
    this.pc = new RTCPeerConnection({ iceServers });
    this.offerSent = false;
    this.flushCandidates = trickleCandidates(this.pc, signal.trickle, () => this.offerSent);
  }

  /** Negotiates the connection: offer, answer, and our candidates trickled. */
  async publish() {
    for (const track of this.stream.getTracks()) {
      this.pc.addTransceiver(track, { direction: "sendonly", streams: [this.stream] });
    }
    await this.pc.setLocalDescription(await this.pc.createOffer());

    const answer = this.signal.publish(this.pc.localDescription.sdp);
    this.offerSent = true;
    this.flushCandidates();
    await this.pc.setRemoteDescription({ type: "answer", sdp: await answer });
    log.debug("publisher: answer applied");
  }

  /** @param {"audio" | "video"} kind @returns {boolean} whether a track of that kind is sent */
  has(kind) {
    return this.stream.getTracks().some((track) => track.kind === kind);
  }

  /**
   * Turns the tracks of `kind` on or off. A disabled track keeps its place in the
   * connection and sends silence or black frames, so turning it back on needs no
   * renegotiation.
   * @param {"audio" | "video"} kind
   * @param {boolean} enabled
   */
  setEnabled(kind, enabled) {
    for (const track of this.stream.getTracks()) {
      if (track.kind === kind) track.enabled = enabled;
    }
  }

  /** @param {"audio" | "video"} kind @returns {boolean} */
  isEnabled(kind) {
    return this.stream.getTracks().some((track) => track.kind === kind && track.enabled);
  }

  /** Closes the connection and releases the camera and the microphone. */
  close() {
    this.pc.close();
    for (const track of this.stream.getTracks()) track.stop();
  }
}

/** One remote participant's media, received from Janus over a receive-only connection. */
export class Subscriber {
  /**
   * @param {string} participantId
   * @param {RTCIceServer[]} iceServers
   * @param {{
   *   answer: (sdp: string) => void,
   *   trickle: (candidate: object | null) => void,
   * }} signal
   * @param {(stream: MediaStream) => void} onStream  Called once, at the first track.
   */
  constructor(participantId, iceServers, signal, onStream) {
    this.participantId = participantId;
    this.signal = signal;
    this.pc = new RTCPeerConnection({ iceServers });
    this.stream = new MediaStream();
    this.answerSent = false;
    this.flushCandidates = trickleCandidates(this.pc, signal.trickle, () => this.answerSent);
    this.pc.addEventListener("track", (event) => {
      // Build our own stream from the tracks: not every offer carries a stream id.
      const first = this.stream.getTracks().length === 0;
      this.stream.addTrack(event.track);
      if (first) onStream(this.stream);
    });
  }

  /**
   * Applies Janus's offer and sends our answer. A later offer for the same
   * participant renegotiates this connection.
   * @param {string} sdp
   */
  async acceptOffer(sdp) {
    await this.pc.setRemoteDescription({ type: "offer", sdp });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    this.signal.answer(this.pc.localDescription.sdp);
    this.answerSent = true;
    this.flushCandidates();
  }

  close() {
    this.pc.close();
  }
}
