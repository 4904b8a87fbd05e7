// The client side of the websocket protocol (PROTOCOL.md §3): one socket for all of a page's
// conversations, reconnect with backoff, exact catch-up by seq, and an outbox of frames that
// wait for their ack.
//
// Events (CustomEvent, payload in `detail`):
//   status     {state: "connecting" | "open" | "reconnecting" | "closed"}
//   message    a MESSAGE, in seq order per conversation, each seq once
//   subscribed {conversation, head}
//   outbox     {clientId, state: "pending" | "sent" | "failed", seq?, error?}
//   typing / read / presence   the server frame as it came
//   error      a server error frame {code, message, ref}
//   closed     {code}: the server refused us for good (4401 signed out, 4403 banned)

const PING_EVERY_MS = 25_000;
const PONG_WITHIN_MS = 10_000;
const ACK_WITHIN_MS = 10_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_CAP_MS = 10_000;
// A connection that lived this long was healthy: the next drop starts the backoff afresh.
const STABLE_AFTER_MS = 5_000;
const MAX_FRAME_BYTES = 64 * 1024;

export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_BANNED = 4403;
const FINAL_CLOSE_CODES = new Set([CLOSE_UNAUTHENTICATED, CLOSE_BANNED]);
const SESSION_CHECK_URL = "/api/auth/me/";

export class FrameTooLargeError extends RangeError {}

export function chatSocketUrl(path = "/ws/chat/") {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/** Whether this browser's session still signs it in (a network failure counts as yes). */
async function stillSignedIn() {
  try {
    const answer = await fetch(SESSION_CHECK_URL, { credentials: "same-origin" });
    return answer.ok;
  } catch {
    return true;
  }
}

function newClientId() {
  return crypto.randomUUID();
}

export class ChatSocket extends EventTarget {
  #url;
  #ws = null;
  #state = "connecting";
  #stopped = true;
  #held = false;
  #attempt = 0;
  #openedAt = Infinity;
  #reconnectTimer = null;
  #pingTimer = null;
  #pongTimer = null;
  // conversation id -> {lastSeq, early: Map<seq, MESSAGE>, catchingUp}
  #conversations = new Map();
  // client_id -> {frame, state, autoResend, timer}
  #outbox = new Map();
  // conversation id -> the highest seq we told the server we read
  #reads = new Map();

  constructor({ url = chatSocketUrl() } = {}) {
    super();
    this.#url = url;
    window.addEventListener("online", () => this.#reconnectNow());
    // Leaving the page closes the socket; that is not a network drop worth announcing.
    window.addEventListener("pagehide", () => this.close());
  }

  get state() {
    return this.#state;
  }

  connect() {
    this.#stopped = false;
    this.#open();
  }

  close() {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    const ws = this.#ws;
    this.#ws = null;
    this.#stopHeartbeat();
    ws?.close(1000);
    this.#setState("closed");
  }

  /** Follow a conversation from just after `after`, the highest seq the caller holds. */
  subscribe(conversation, { after = 0 } = {}) {
    this.#conversations.set(conversation, { lastSeq: after, early: new Map(), catchingUp: false });
    this.#transmit({ type: "subscribe", conversation, after });
  }

  unsubscribe(conversation) {
    this.#conversations.delete(conversation);
    this.#transmit({ type: "unsubscribe", conversation });
  }

  /** The highest seq delivered for a conversation: everything up to it has been seen once. */
  lastSeq(conversation) {
    return this.#conversations.get(conversation)?.lastSeq ?? 0;
  }

  /** Queue a message; returns its client_id. Throws FrameTooLargeError before sending. */
  send(conversation, body) {
    return this.#enqueue({ type: "send", conversation, client_id: newClientId(), body });
  }

  edit(conversation, seq, body) {
    return this.#enqueue({ type: "edit", conversation, client_id: newClientId(), seq, body });
  }

  delete(conversation, seq) {
    return this.#enqueue({ type: "delete", conversation, client_id: newClientId(), seq });
  }

  /** Send a failed frame again, with the same client_id: the server creates nothing twice. */
  retry(clientId) {
    const entry = this.#outbox.get(clientId);
    if (!entry) return;
    entry.autoResend = true;
    this.#dispatchOutbox(clientId, entry);
  }

  typing(conversation) {
    this.#transmit({ type: "typing", conversation });
  }

  markRead(conversation, seq) {
    if (seq <= (this.#reads.get(conversation) ?? 0)) return;
    this.#reads.set(conversation, seq);
    this.#transmit({ type: "read", conversation, seq });
  }

  /** Test hook: drop the connection as the network would. `hold` keeps it down until resumed. */
  dropForTest({ hold = false } = {}) {
    this.#held = hold;
    this.#dropNow();
  }

  resumeForTest() {
    this.#held = false;
    this.#reconnectNow();
  }

  // -- connection --------------------------------------------------------------------------

  #open() {
    if (this.#stopped || this.#held || this.#ws) return;
    clearTimeout(this.#reconnectTimer);
    const ws = new WebSocket(this.#url);
    this.#ws = ws;
    ws.addEventListener("open", () => ws === this.#ws && this.#opened());
    ws.addEventListener("message", (event) => ws === this.#ws && this.#received(event.data));
    ws.addEventListener("close", (event) => ws === this.#ws && this.#dropped(event.code));
  }

  #opened() {
    this.#openedAt = Date.now();
    this.#setState("open");
    for (const [conversation, followed] of this.#conversations) {
      followed.catchingUp = true;
      this.#transmit({ type: "subscribe", conversation, after: followed.lastSeq });
    }
    for (const [conversation, seq] of this.#reads) {
      this.#transmit({ type: "read", conversation, seq });
    }
    for (const [clientId, entry] of this.#outbox) {
      if (entry.autoResend) this.#dispatchOutbox(clientId, entry);
    }
    this.#startHeartbeat();
  }

  /** Give up on the current socket at once, without waiting for a close handshake. */
  #dropNow() {
    const ws = this.#ws;
    if (!ws) return;
    this.#ws = null;
    ws.close();
    this.#dropped(1006);
  }

  #dropped(code) {
    this.#ws = null;
    this.#stopHeartbeat();
    if (Date.now() - this.#openedAt > STABLE_AFTER_MS) this.#attempt = 0;
    this.#openedAt = Infinity;
    for (const [clientId, entry] of this.#outbox) {
      if (entry.state === "pending") this.#fail(clientId, entry);
    }
    if (code === CLOSE_UNAUTHENTICATED && !this.#stopped) {
      // A sign-out closes all of the user's sockets, also those of other devices whose own
      // session is still good: only a session that is really gone ends this page's chat.
      this.#setState("reconnecting");
      stillSignedIn().then((signedIn) => (signedIn ? this.#reconnectLater() : this.#end(code)));
      return;
    }
    if (FINAL_CLOSE_CODES.has(code)) {
      this.#end(code);
      return;
    }
    if (this.#stopped) return;
    this.#setState("reconnecting");
    this.#reconnectLater();
  }

  #reconnectLater() {
    if (!this.#stopped && !this.#held) this.#scheduleReconnect();
  }

  #end(code) {
    this.#stopped = true;
    this.#setState("closed");
    this.#emit("closed", { code });
  }

  #scheduleReconnect() {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** this.#attempt);
    // Half fixed, half random: clients dropped together do not come back together.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.#attempt += 1;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => this.#open(), delay);
  }

  #reconnectNow() {
    if (this.#stopped || this.#ws) return;
    this.#attempt = 0;
    this.#open();
  }

  #setState(state) {
    if (state === this.#state) return;
    this.#state = state;
    this.#emit("status", { state });
  }

  // A socket can die without a close event (a sleeping laptop, a dead NAT entry): the ping
  // finds out, and a missing pong counts as a drop.
  #startHeartbeat() {
    this.#stopHeartbeat();
    this.#pingTimer = setInterval(() => {
      this.#transmit({ type: "ping" });
      clearTimeout(this.#pongTimer);
      this.#pongTimer = setTimeout(() => this.#dropNow(), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  #stopHeartbeat() {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pongTimer);
  }

  #transmit(frame) {
    if (this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify(frame));
    return true;
  }

  // -- incoming ----------------------------------------------------------------------------

  #received(text) {
    // Any frame proves the connection alive.
    clearTimeout(this.#pongTimer);
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    switch (frame.type) {
      case "history":
        for (const message of frame.messages ?? []) this.#deliver(message);
        break;
      case "message":
        this.#deliver(frame);
        break;
      case "subscribed":
        this.#subscribed(frame);
        break;
      case "ack":
        this.#acked(frame.client_id, frame.seq);
        break;
      case "error":
        this.#refused(frame);
        break;
      case "typing":
      case "read":
      case "presence":
      case "checkpoint":
        this.#emit(frame.type, frame);
        break;
      default:
        break; // pong, and whatever a newer server adds
    }
  }

  #deliver(message) {
    if (message.client_id) this.#acked(message.client_id, message.seq);
    const followed = this.#conversations.get(message.conversation);
    if (!followed || message.seq <= followed.lastSeq) return;
    if (message.seq > followed.lastSeq + 1) {
      // A gap: an event was lost on the way (the channel layer may drop). Hold this one back
      // and ask for everything after the last seq we hold; duplicates are ignored above.
      followed.early.set(message.seq, message);
      if (!followed.catchingUp) {
        followed.catchingUp = true;
        this.#transmit({
          type: "subscribe", conversation: message.conversation, after: followed.lastSeq,
        });
      }
      return;
    }
    this.#emitInOrder(followed, message);
  }

  #emitInOrder(followed, message) {
    let next = message;
    while (next) {
      followed.lastSeq = next.seq;
      followed.early.delete(next.seq);
      this.#emit("message", next);
      next = followed.early.get(followed.lastSeq + 1);
    }
  }

  #subscribed(frame) {
    const followed = this.#conversations.get(frame.conversation);
    if (followed) {
      followed.catchingUp = false;
      // The replay is complete: whatever is still held back has no missing predecessor to
      // wait for, so release it in order rather than stall.
      for (const seq of [...followed.early.keys()].sort((a, b) => a - b)) {
        const message = followed.early.get(seq);
        if (message && seq > followed.lastSeq) this.#emitInOrder(followed, message);
      }
      followed.early.clear();
    }
    this.#emit("subscribed", frame);
  }

  // -- outbox ------------------------------------------------------------------------------

  #enqueue(frame) {
    const size = new TextEncoder().encode(JSON.stringify(frame)).length;
    if (size > MAX_FRAME_BYTES) {
      throw new FrameTooLargeError("This message is too long to send.");
    }
    const entry = { frame, state: "pending", autoResend: true, timer: null };
    this.#outbox.set(frame.client_id, entry);
    this.#dispatchOutbox(frame.client_id, entry);
    return frame.client_id;
  }

  #dispatchOutbox(clientId, entry) {
    entry.state = "pending";
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.#fail(clientId, entry), ACK_WITHIN_MS);
    this.#emit("outbox", { clientId, state: "pending" });
    this.#transmit(entry.frame);
  }

  #fail(clientId, entry, error = null) {
    clearTimeout(entry.timer);
    entry.state = "failed";
    this.#emit("outbox", { clientId, state: "failed", error });
  }

  #acked(clientId, seq) {
    const entry = this.#outbox.get(clientId);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.#outbox.delete(clientId);
    this.#emit("outbox", { clientId, state: "sent", seq });
  }

  #refused(frame) {
    const entry = frame.ref ? this.#outbox.get(frame.ref) : null;
    if (entry) {
      // The server said no (rate limit, suspension…): resending by itself would only repeat
      // that; the user decides with Retry.
      entry.autoResend = false;
      this.#fail(frame.ref, entry, frame);
    }
    this.#emit("error", frame);
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
