// The page's WebSocket to Parley. Frames are JSON objects with a `type`; the
// protocol is described in docs/signaling.md of the Parley repository.

import { log } from "./log.js";

const CONNECT_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;

/** An `error` frame from Parley, or a failure of the socket itself. */
export class SignalingError extends Error {
  /**
   * @param {string} code  Parley's error code, or "connect_failed", "closed", "timeout".
   * @param {string} message
   * @param {boolean} fatal  Whether the socket is closed (or about to be).
   */
  constructor(code, message, fatal) {
    super(message);
    this.name = "SignalingError";
    this.code = code;
    this.fatal = fatal;
  }
}

/**
 * Returns the signaling URL for the meeting page at `location`: the page's own
 * path plus "/signal", over ws: or wss: to match the page. Deriving it from the
 * path keeps it right behind a reverse proxy that mounts Parley under a prefix.
 * @param {Location} location
 * @returns {string}
 */
export function signalingUrl(location) {
  const url = new URL(location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/signal`;
  url.search = "";
  url.hash = "";
  return url.href;
}

/**
 * A signaling connection. Handlers registered with `on(type, ...)` receive the
 * frames of that type, except a frame that is the reply to a pending `request`.
 */
export class Signaling {
  /** @param {string} url */
  constructor(url) {
    this.url = url;
    this.socket = null;
    this.handlers = new Map();
    /** @type {Array<{requestType: string, replyType: string, resolve: Function, reject: Function, timer: number}>} */
    this.pending = [];
    this.closeHandler = () => {};
  }

  /**
   * Opens the WebSocket.
   * @returns {Promise<void>} Resolves once open; rejects with a SignalingError
   *   ("connect_failed") if the socket closes first or takes too long.
   */
  connect() {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      this.socket = socket;
      const timer = setTimeout(() => socket.close(), CONNECT_TIMEOUT_MS);
      const refused = () => {
        clearTimeout(timer);
        reject(new SignalingError("connect_failed", `cannot open ${this.url}`, true));
      };
      socket.addEventListener("close", refused, { once: true });
      socket.addEventListener(
        "open",
        () => {
          clearTimeout(timer);
          socket.removeEventListener("close", refused);
          socket.addEventListener("close", (event) => this.closed(event));
          resolve();
        },
        { once: true },
      );
      socket.addEventListener("message", (event) => this.receive(event.data));
    });
  }

  /**
   * Registers the handler for frames of `type`; a later call replaces it.
   * @param {string} type
   * @param {(frame: object) => void} handler
   */
  on(type, handler) {
    this.handlers.set(type, handler);
  }

  /**
   * Registers the handler called once when an open socket closes.
   * @param {(event: CloseEvent) => void} handler
   */
  onClose(handler) {
    this.closeHandler = handler;
  }

  /**
   * Sends one frame. Frames sent on a socket that is not open are dropped,
   * because the close handler already reports the lost connection.
   * @param {object} frame  An object with a `type`.
   */
  send(frame) {
    if (this.socket?.readyState !== WebSocket.OPEN) {
      log.debug(`dropped ${frame.type}: socket is not open`);
      return;
    }
    this.socket.send(JSON.stringify(frame));
  }

  /**
   * Sends `frame` and waits for the first frame of `replyType`.
   * @param {object} frame
   * @param {string} replyType
   * @returns {Promise<object>} The reply; rejects with a SignalingError on an error
   *   frame that is fatal or names this request, on close, or after REQUEST_TIMEOUT_MS.
   */
  request(frame, replyType) {
    return new Promise((resolve, reject) => {
      const waiter = { requestType: frame.type, replyType, resolve, reject, timer: 0 };
      waiter.timer = setTimeout(() => {
        this.pending = this.pending.filter((other) => other !== waiter);
        reject(new SignalingError("timeout", `no ${replyType} in reply to ${frame.type}`, false));
      }, REQUEST_TIMEOUT_MS);
      this.pending.push(waiter);
      this.send(frame);
    });
  }

  /**
   * Closes the socket; the close handler is not called.
   * @param {number} [graceMs]  How long to leave the closing to Parley, which
   *   closes the socket itself after `leave`. The socket is closed from this side
   *   only if it is still open then.
   */
  close(graceMs = 0) {
    this.closeHandler = () => {};
    this.rejectPending(new SignalingError("closed", "signaling closed", true));
    const socket = this.socket;
    if (graceMs > 0) setTimeout(() => socket?.close(1000), graceMs);
    else socket?.close(1000);
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      log.warn("ignored a frame that is not JSON");
      return;
    }
    if (frame.type === "error" && frame.fatal) {
      this.rejectPending(new SignalingError(frame.code, frame.message, true));
    } else if (frame.type === "error" && this.rejectRequest(frame)) {
      return;
    }
    const waiter = this.pending.find((candidate) => candidate.replyType === frame.type);
    if (waiter) {
      this.pending = this.pending.filter((other) => other !== waiter);
      clearTimeout(waiter.timer);
      waiter.resolve(frame);
      return;
    }
    const handler = this.handlers.get(frame.type);
    if (handler) handler(frame);
    else log.debug(`no handler for ${frame.type}`);
  }

  closed(event) {
    log.info(`signaling closed: code ${event.code}`);
    this.rejectPending(new SignalingError("closed", "signaling closed", true));
    const handler = this.closeHandler;
    this.closeHandler = () => {};
    handler(event);
  }

  // Rejects the pending request that a non-fatal error frame names; returns whether
  // there was one.
  rejectRequest(frame) {
    const waiter = this.pending.find((candidate) => candidate.requestType === frame.request);
    if (!waiter) return false;
    this.pending = this.pending.filter((other) => other !== waiter);
    clearTimeout(waiter.timer);
    waiter.reject(new SignalingError(frame.code, frame.message, false));
    return true;
  }

  rejectPending(error) {
    for (const waiter of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.pending = [];
  }
}
