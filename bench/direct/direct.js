// A browser that speaks Janus's WebSocket API itself: the floor under Parley's figure.
//
// Query parameters: `janus` (ws:// URL of Janus), `room` (numeric videoroom id, which
// must exist) and `name`. Clicking "Join" sets the mark `bench:join`; the first
// decoded frame of a remote video sets `bench:first-remote-frame`.

const params = new URLSearchParams(location.search);
const janusUrl = params.get("janus");
const room = Number(params.get("room"));
const displayName = params.get("name") || "bench";

const KEEPALIVE_MS = 25_000;
const VIDEOROOM = "janus.plugin.videoroom";

const statusLine = document.getElementById("status");

/** The state the bench reads through page.evaluate. */
const bench = { state: "idle", error: null, publisher: null, subscribers: new Map() };
window.bench = bench;

function log(...args) {
  console.log("[bench]", ...args);
}

function setState(state) {
  log(`${bench.state} -> ${state}`);
  bench.state = state;
  statusLine.textContent = state;
}

// One WebSocket to Janus. Requests carry a transaction id; `request` resolves with
// the first reply that is not an `ack`, and asynchronous plugin events arrive
// through `onEvent`.
class JanusSession {
  constructor(socket) {
    this.socket = socket;
    this.pending = new Map();
    this.sessionId = null;
    this.onEvent = () => {};
    this.nextTransaction = 0;
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
  }

  static open(url) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, "janus-protocol");
      socket.addEventListener("open", () => resolve(new JanusSession(socket)), { once: true });
      socket.addEventListener("error", () => reject(new Error(`cannot reach ${url}`)), {
        once: true,
      });
    });
  }

  receive(message) {
    const waiter = this.pending.get(message.transaction);
    if (message.janus === "ack") {
      // Asynchronous requests get an `ack` first; the `event` follows later.
      if (waiter && waiter.ackIsReply) this.settle(message);
      return;
    }
    if (waiter) {
      this.settle(message);
      return;
    }
    this.onEvent(message);
  }

  settle(message) {
    const waiter = this.pending.get(message.transaction);
    this.pending.delete(message.transaction);
    if (message.janus === "error") {
      waiter.reject(new Error(`Janus error ${message.error.code}: ${message.error.reason}`));
    } else {
      waiter.resolve(message);
    }
  }

  request(body, { ackIsReply = false } = {}) {
    const transaction = `t${++this.nextTransaction}`;
    const message = { ...body, transaction };
    if (this.sessionId !== null) message.session_id = this.sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(transaction, { resolve, reject, ackIsReply });
      this.socket.send(JSON.stringify(message));
    });
  }

  async create() {
    const reply = await this.request({ janus: "create" });
    this.sessionId = reply.data.id;
    setInterval(() => this.request({ janus: "keepalive" }, { ackIsReply: true }), KEEPALIVE_MS);
  }

  async attach() {
    const reply = await this.request({ janus: "attach", plugin: VIDEOROOM });
    return reply.data.id;
  }

  /** Send a videoroom request on a handle and resolve with the plugin's reply. */
  async message(handleId, body, jsep) {
    const request = { janus: "message", handle_id: handleId, body };
    if (jsep) request.jsep = jsep;
    const reply = await this.request(request);
    const data = reply.plugindata.data;
    if (data.error) throw new Error(`videoroom error ${data.error_code}: ${data.error}`);
    return { data, jsep: reply.jsep };
  }

  trickle(handleId, candidate) {
    const payload = candidate ? candidate.toJSON() : { completed: true };
    this.request({ janus: "trickle", handle_id: handleId, candidate: payload }, { ackIsReply: true });
  }
}

function newPeerConnection(session, handleId) {
  const pc = new RTCPeerConnection({ iceServers: [] });
  pc.addEventListener("icecandidate", (event) => session.trickle(handleId, event.candidate));
  return pc;
}

async function publish(session, handleId, stream) {
  const pc = newPeerConnection(session, handleId);
  bench.publisher = pc;
  for (const track of stream.getTracks()) {
    pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
  }
  await pc.setLocalDescription(await pc.createOffer());
  const configured = await session.message(
    handleId,
    { request: "configure", audio: true, video: true },
    { type: pc.localDescription.type, sdp: pc.localDescription.sdp },
  );
  await pc.setRemoteDescription(configured.jsep);
}

async function subscribe(session, feed) {
  if (bench.subscribers.has(feed.id)) return;
  const handleId = await session.attach();
  const pc = newPeerConnection(session, handleId);
  bench.subscribers.set(feed.id, pc);
  pc.addEventListener("track", (event) => showRemote(feed, event.streams[0]));

  const attached = await session.message(handleId, {
    request: "join",
    ptype: "subscriber",
    room,
    streams: [{ feed: feed.id }],
  });
  await pc.setRemoteDescription(attached.jsep);
  await pc.setLocalDescription(await pc.createAnswer());
  await session.message(
    handleId,
    { request: "start", room },
    { type: pc.localDescription.type, sdp: pc.localDescription.sdp },
  );
}

function showRemote(feed, stream) {
  let video = document.querySelector(`video[data-feed="${feed.id}"]`);
  if (video) return;
  video = document.createElement("video");
  video.dataset.feed = String(feed.id);
  video.autoplay = true;
  video.playsInline = true;
  video.addEventListener(
    "loadeddata",
    () => {
      if (performance.getEntriesByName("bench:first-remote-frame").length === 0) {
        performance.mark("bench:first-remote-frame");
      }
    },
    { once: true },
  );
  video.srcObject = stream;
  document.getElementById("remotes").append(video);
}

// The same order as Parley's meeting page, so neither side gets an easier path: the
// camera opens while the session is set up, and the subscriptions to publishers
// already in the room start before our own publishing.
async function join() {
  performance.mark("bench:join");
  setState("joining");
  const camera = navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  const session = await JanusSession.open(janusUrl);
  await session.create();

  const handleId = await session.attach();
  session.onEvent = (message) => {
    const data = message.plugindata?.data;
    if (message.sender === handleId && data?.publishers) {
      data.publishers.forEach((feed) => subscribe(session, feed).catch(fail));
    }
  };
  const joined = await session.message(handleId, {
    request: "join",
    ptype: "publisher",
    room,
    display: displayName,
  });
  const subscriptions = (joined.data.publishers || []).map((feed) => subscribe(session, feed));

  const stream = await camera;
  document.getElementById("local").srcObject = stream;
  await publish(session, handleId, stream);
  setState("publishing");
  await Promise.all(subscriptions);
}

function fail(error) {
  bench.error = String(error);
  setState("failed");
  console.error("[bench]", error);
}

document.getElementById("join").addEventListener("click", () => join().catch(fail), {
  once: true,
});
