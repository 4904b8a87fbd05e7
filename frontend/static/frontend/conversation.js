// The conversation page: history, live events, the composer, typing, receipts and presence.

import { FileCards } from "./chat-files.js";
import { ChatSocket, FrameTooLargeError } from "./chat-socket.js";
import { DisputeCards } from "./dispute-cards.js";
import { keepCheckpoints } from "./evidence.js";
import { dayKey, dayLabel, setTime } from "./format.js";
import { InvoiceCards } from "./invoice-cards.js";
import { readMoneyState } from "./money.js";
import { Alerts, bindConnectionStatus, bindSocketClosed, getJSON } from "./page.js";

const PAGE_SIZE = 50;
const TYPING_SEND_EVERY_MS = 3_000;
const TYPING_SHOWN_FOR_MS = 5_000;
const NEAR_BOTTOM_PX = 120;

const ERROR_TEXT = {
  rate_limited: "You are sending messages too quickly. Wait a moment, then try again.",
  suspended: "Your account is suspended: you can read this conversation but not write in it.",
  too_large: "That message is too long to send.",
  not_member: "You are no longer a member of this conversation.",
  not_found: "This message or conversation no longer exists.",
  closed: "This conversation is closed.",
};

const EVENT_LABELS = { file: "File", invoice: "Invoice", payment: "Payment", dispute: "Dispute" };
// Others' messages of these kinds carry a "Report" button, when the page has the report dialog
// (report.js opens it from the button's data-report-* attributes).
const REPORTABLE_KINDS = new Set(["text", "file"]);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(text, action) {
  const node = element("button", "button button--small", text);
  node.type = "button";
  node.dataset.action = action;
  return node;
}

/** The server's `html` is escaped and sanitised already; it is the only field shown as HTML. */
function fillBody(body, message) {
  if (message.html) {
    body.innerHTML = message.html;
    body.classList.remove("message__body--plain");
  } else {
    fillText(body, message.body ?? "");
  }
}

/** Plain text keeps its line breaks through CSS; the server's HTML has <br> for them. */
function fillText(body, text) {
  body.textContent = text;
  body.classList.add("message__body--plain");
}

function setBusy(article, busy) {
  article.classList.toggle("message--busy", busy);
  if (busy) article.setAttribute("aria-busy", "true");
  else article.removeAttribute("aria-busy");
}

class ConversationView {
  constructor(root, initial) {
    this.conversationId = initial.conversation.id;
    this.viewer = initial.viewer;
    this.messagesUrl = `/api/conversations/${this.conversationId}/messages/`;
    this.participants = new Map(
      initial.participants.map((p) => [p.id, { name: p.name, lastRead: p.last_read_seq }]),
    );

    this.timeline = root.querySelector("[data-timeline]");
    this.log = root.querySelector("[data-log]");
    this.outbox = root.querySelector("[data-outbox]");
    this.olderButton = root.querySelector("[data-load-older]");
    this.startNote = root.querySelector("[data-timeline-start]");
    this.typingLine = root.querySelector("[data-typing]");
    this.composer = root.querySelector("[data-composer]");
    this.input = this.composer.querySelector("textarea");
    this.alerts = new Alerts(root.querySelector("[data-alerts]"));
    this.seenMarker = element("p", "message__seen", "Seen");
    this.canReport = document.querySelector("[data-report-dialog]") !== null;
    this.cards = new InvoiceCards({
      log: this.log,
      viewerId: this.viewer.id,
      money: readMoneyState(),
      conversationId: this.conversationId,
    });
    this.disputeCards = new DisputeCards({ log: this.log, viewerId: this.viewer.id });
    this.fileCards = new FileCards({
      root,
      log: this.log,
      viewerId: this.viewer.id,
      conversationId: this.conversationId,
      alerts: this.alerts,
      present: (message) => this.present(message),
    });

    this.seqs = new Set();
    this.lowestSeq = Infinity;
    this.highestSeq = 0;
    this.hasOlder = false;
    this.loadingOlder = false;
    this.bodies = new Map(); // seq -> the viewer's own message text, for editing
    this.pendingBubbles = new Map(); // client_id -> outbox element
    // Edits and deletions not yet acknowledged. Saving the same change again retries it with
    // its first client_id, so a change resent after a reconnect is never stored twice.
    this.pendingEdits = new Map(); // client_id -> {seq, text}
    this.pendingDeletes = new Map(); // client_id -> seq
    this.typers = new Map(); // user id -> {name, timer}
    this.lastTypingSentAt = 0;
    this.batch = null;

    this.socket = new ChatSocket();
    // The browser tests drop the connection through this handle.
    window.chatboxSocket = this.socket;
    bindConnectionStatus(this.socket, root.querySelector("[data-connection-status]"));
    bindSocketClosed(this.socket, this.alerts);
    keepCheckpoints(this.socket);
    // Refused for good (signed out, banned): nothing typed here could be sent any more.
    this.socket.addEventListener("closed", () => {
      for (const control of this.composer.elements) control.disabled = true;
    });
  }

  async start() {
    this.listen();
    this.socket.connect();
    let page = null;
    try {
      page = await getJSON(`${this.messagesUrl}?limit=${PAGE_SIZE}`);
    } catch (error) {
      // The socket's replay from seq 0 still brings the whole conversation.
      this.alerts.show(`The history could not be loaded: ${error.message}`);
    }
    for (const message of page ?? []) this.present(message);
    this.hasOlder = page !== null && page.length >= PAGE_SIZE;
    this.updateOlderControls();
    this.updateSeen();
    this.scrollToBottom();
    this.socket.subscribe(this.conversationId, { after: this.highestSeq });
    this.markRead();
    this.observeTop();
  }

  listen() {
    this.socket.addEventListener("message", ({ detail }) => {
      if (detail.conversation !== this.conversationId) return;
      this.inBatch(() => this.present(detail));
      // Events after the page's history (live, or replayed after a drop): a page fetched
      // earlier showed its samples as they were then.
      this.fileCards.live(detail);
    });
    this.socket.addEventListener("outbox", ({ detail }) => this.outboxChanged(detail));
    this.socket.addEventListener("typing", ({ detail }) => this.someoneTyping(detail));
    this.socket.addEventListener("read", ({ detail }) => this.someoneRead(detail));
    this.socket.addEventListener("presence", ({ detail }) => this.presenceChanged(detail));
    this.socket.addEventListener("error", ({ detail }) => {
      this.alerts.show(detail.message || ERROR_TEXT[detail.code] || "Something went wrong.");
    });

    this.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendComposed();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.composer.requestSubmit();
      }
    });
    this.input.addEventListener("input", () => this.typing());
    this.log.addEventListener("click", (event) => this.messageAction(event));
    this.outbox.addEventListener("click", (event) => {
      const retry = event.target.closest("[data-action=retry]");
      if (retry) this.socket.retry(retry.closest("[data-client-id]").dataset.clientId);
    });
    this.olderButton.addEventListener("click", () => this.loadOlder());
    document.addEventListener("visibilitychange", () => this.markRead());
  }

  // -- history and live events ---------------------------------------------------------------

  /**
   * Live events arrive in bursts (a replay holds up to 200): render them all, then scroll,
   * mark read and place the receipt once.
   */
  inBatch(render) {
    if (!this.batch) {
      this.batch = { stick: this.isNearBottom() };
      queueMicrotask(() => {
        const { stick } = this.batch;
        this.batch = null;
        this.updateSeen();
        if (stick) this.scrollToBottom();
        this.markRead();
      });
    }
    render();
  }

  remember(seq) {
    this.seqs.add(seq);
    this.lowestSeq = Math.min(this.lowestSeq, seq);
    this.highestSeq = Math.max(this.highestSeq, seq);
  }

  /** Show one event at the end of the log: a new bubble, or an edit or deletion of one. */
  present(message) {
    if (this.seqs.has(message.seq)) return;
    this.remember(message.seq);
    this.cards.track(message);
    this.disputeCards.track(message);
    if (message.sender) this.stopTyping(message.sender.id);
    if (message.kind === "edit") {
      this.applyEdit(message);
      return;
    }
    if (message.kind === "delete") {
      this.applyDelete(message.data?.target);
      return;
    }
    if (message.kind === "system" && message.data?.event === "message_hidden") {
      this.applyHidden(message.data.seq, "This message was hidden by support.");
    }
    if (message.kind === "system" && message.data?.event === "redacted") {
      this.applyHidden(message.data.seq, "This message was removed by support.");
    }
    const bubble = message.client_id && this.pendingBubbles.get(message.client_id);
    if (bubble) {
      bubble.remove();
      this.pendingBubbles.delete(message.client_id);
      if (this.batch) this.batch.stick = true;
    }
    const article = this.render(message);
    const day = dayKey(message.created_at);
    let group = this.log.lastElementChild;
    if (!group || group.dataset.day !== day) {
      group = this.dayGroup(day);
      this.log.append(group);
    }
    group.append(article);
  }

  /** Put an older page (oldest first) above what is shown, keeping the view where it was. */
  prepend(messages) {
    const fromBottom = this.timeline.scrollHeight - this.timeline.scrollTop;
    for (const message of [...messages].reverse()) {
      if (this.seqs.has(message.seq)) continue;
      this.remember(message.seq);
      this.cards.track(message);
      this.disputeCards.track(message);
      // Older pages come presented: their targets already show the latest edit or deletion.
      if (message.kind === "edit" || message.kind === "delete") continue;
      const article = this.render(message);
      const day = dayKey(message.created_at);
      let group = this.log.firstElementChild;
      if (!group || group.dataset.day !== day) {
        group = this.dayGroup(day);
        this.log.prepend(group);
      }
      group.firstElementChild.after(article);
    }
    this.timeline.scrollTop = this.timeline.scrollHeight - fromBottom;
  }

  dayGroup(day) {
    const group = element("section", "day");
    group.dataset.day = day;
    group.append(element("h2", "day__label", dayLabel(day)));
    return group;
  }

  render(message) {
    const mine = message.sender?.id === this.viewer.id;
    const article = element("article", `message message--${message.kind}`);
    article.dataset.seq = message.seq;
    article.dataset.kind = message.kind;
    if (message.kind !== "system") article.classList.add(mine ? "message--mine" : "message--theirs");
    if (message.kind in EVENT_LABELS) article.classList.add("message--event");

    const meta = element("p", "message__meta");
    if (message.kind !== "system") {
      const sender = mine ? "You" : (message.sender?.name ?? "Chatbox");
      meta.append(element("span", "message__sender", sender));
    }
    if (message.kind in EVENT_LABELS) {
      meta.append(element("span", "message__label", EVENT_LABELS[message.kind]));
    }
    const time = element("time", "message__time");
    setTime(time, message.created_at);
    meta.append(time);
    const edited = element("span", "message__edited", "(edited)");
    edited.hidden = true;
    meta.append(edited);

    const body = element("div", "message__body");
    body.id = `message-${message.seq}-body`;
    fillBody(body, message);
    article.append(meta, body);
    this.cards.decorate(article, body, message);
    this.disputeCards.decorate(article, body, message);
    this.fileCards.decorate(article, body, message);

    if (mine && message.redactions?.length) {
      article.append(
        element("p", "message__note", "Some contact details were hidden from this message."),
      );
    }
    if (!mine && message.data?.cautions?.length) {
      // Why to be careful with this buyer's message (chatbox.cautions), for the provider.
      const caution = element("ul", "message__caution");
      caution.setAttribute("aria-label", "Caution");
      for (const text of message.data.cautions) caution.append(element("li", "", text));
      article.append(caution);
    }
    if (mine && message.kind === "text") {
      this.bodies.set(message.seq, message.body);
      const actions = element("div", "message__actions");
      for (const [text, action] of [["Edit", "edit"], ["Delete", "delete"]]) {
        const control = button(text, action);
        control.setAttribute("aria-describedby", body.id);
        actions.append(control);
      }
      article.append(actions);
    }
    if (!mine && message.sender && REPORTABLE_KINDS.has(message.kind) && this.canReport) {
      const report = button("Report", "report");
      report.setAttribute("aria-describedby", body.id);
      report.setAttribute("aria-haspopup", "dialog");
      Object.assign(report.dataset, {
        reportType: "message",
        reportConversation: this.conversationId,
        reportSeq: String(message.seq),
        reportHeading: `Report this message from ${message.sender.name}`,
      });
      const actions = element("div", "message__actions");
      actions.append(report);
      article.append(actions);
    }
    if (message.data?.deleted) {
      this.showDeleted(article);
    } else if (message.data?.edited) {
      edited.hidden = false;
    }
    return article;
  }

  article(seq) {
    return this.log.querySelector(`[data-seq="${Number(seq)}"]`);
  }

  applyHidden(seq, notice) {
    // Support hid a message, or removed its text: here it shows the notice, as on reload.
    const article = this.article(seq);
    if (!article) return;
    fillText(article.querySelector(".message__body"), notice);
    article.querySelector("[data-file]")?.remove();
    article.querySelector(".message__actions")?.remove();
  }

  applyEdit(message) {
    const article = this.article(message.data?.target);
    if (!article || message.data?.deleted || article.classList.contains("message--deleted")) {
      return; // not loaded (it will come presented) or gone
    }
    fillBody(article.querySelector(".message__body"), message);
    article.querySelector(".message__edited").hidden = false;
    if (this.bodies.has(message.data.target)) this.bodies.set(message.data.target, message.body);
  }

  applyDelete(seq) {
    const article = this.article(seq);
    if (article) this.showDeleted(article);
  }

  showDeleted(article) {
    this.closeEditor(article);
    article.classList.add("message--deleted");
    setBusy(article, false);
    fillText(article.querySelector(".message__body"), "This message was deleted");
    article.querySelector(".message__edited").hidden = true;
    article.querySelector(".message__actions")?.remove();
    article.querySelector(".message__note")?.remove();
    this.bodies.delete(Number(article.dataset.seq));
  }

  // -- older pages -----------------------------------------------------------------------------

  observeTop() {
    this.topObserver = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) this.loadOlder();
      },
      { root: this.timeline, rootMargin: "200px 0px 0px 0px" },
    );
    this.topObserver.observe(this.olderButton);
  }

  async loadOlder() {
    if (this.loadingOlder || !this.hasOlder) return;
    this.loadingOlder = true;
    this.olderButton.disabled = true;
    this.olderButton.textContent = "Loading…";
    try {
      const page = await getJSON(`${this.messagesUrl}?before=${this.lowestSeq}&limit=${PAGE_SIZE}`);
      this.prepend(page);
      this.hasOlder = page.length >= PAGE_SIZE;
    } catch (error) {
      this.alerts.show(`Older messages could not be loaded: ${error.message}`);
    } finally {
      this.loadingOlder = false;
      this.olderButton.disabled = false;
      this.olderButton.textContent = "Load older messages";
      this.updateOlderControls();
      this.updateSeen();
    }
    if (this.hasOlder) {
      // Observing afresh reports the button again if it is still in view (a short page).
      this.topObserver.unobserve(this.olderButton);
      this.topObserver.observe(this.olderButton);
    }
  }

  updateOlderControls() {
    this.olderButton.hidden = !this.hasOlder;
    this.startNote.hidden = this.hasOlder;
  }

  // -- sending ---------------------------------------------------------------------------------

  sendComposed() {
    const text = this.input.value.trim();
    if (!text) return;
    let clientId;
    try {
      clientId = this.socket.send(this.conversationId, text);
    } catch (error) {
      if (!(error instanceof FrameTooLargeError)) throw error;
      this.alerts.show(error.message);
      return;
    }
    this.outbox.append(this.pendingBubble(clientId, text));
    this.input.value = "";
    this.lastTypingSentAt = 0;
    this.scrollToBottom();
  }

  pendingBubble(clientId, text) {
    const item = element("li", "message message--mine message--pending");
    item.dataset.clientId = clientId;
    const footer = element("p", "message__meta");
    const state = element("span", "message__state", "Sending…");
    const retry = button("Retry", "retry");
    retry.hidden = true;
    footer.append(state, retry);
    item.append(element("div", "message__body message__body--plain", text), footer);
    this.pendingBubbles.set(clientId, item);
    return item;
  }

  outboxChanged({ clientId, state, error }) {
    const bubble = this.pendingBubbles.get(clientId);
    if (bubble) {
      bubble.classList.toggle("message--failed", state === "failed");
      bubble.querySelector(".message__state").textContent =
        { pending: "Sending…", sent: "Sent", failed: "Not sent" }[state];
      bubble.querySelector("[data-action=retry]").hidden = state !== "failed";
      return;
    }
    if (this.pendingEdits.has(clientId)) this.editSettled(clientId, state, error);
    if (this.pendingDeletes.has(clientId)) this.deleteSettled(clientId, state, error);
  }

  typing() {
    const now = Date.now();
    if (!this.input.value.trim() || now - this.lastTypingSentAt < TYPING_SEND_EVERY_MS) return;
    this.lastTypingSentAt = now;
    this.socket.typing(this.conversationId);
  }

  markRead() {
    if (document.visibilityState === "visible" && this.highestSeq > 0) {
      this.socket.markRead(this.conversationId, this.highestSeq);
    }
  }

  // -- editing and deleting one's own messages ---------------------------------------------------

  messageAction(event) {
    const control = event.target.closest("[data-action]");
    const article = control?.closest("[data-seq]");
    if (!article) return;
    const action = control.dataset.action;
    if (action === "edit") this.openEditor(article);
    if (action === "delete") this.deleteMessage(article);
  }

  openEditor(article) {
    if (article.querySelector(".editor")) return;
    const seq = Number(article.dataset.seq);
    const form = element("form", "editor");
    const label = element("label", "visually-hidden", "New text");
    const field = element("textarea", "editor__input");
    field.id = `edit-${seq}`;
    label.htmlFor = field.id;
    field.value = this.bodies.get(seq) ?? "";
    field.rows = 2;
    const save = element("button", "button button--primary button--small", "Save");
    save.type = "submit";
    const cancel = button("Cancel", "cancel-edit");
    form.append(label, field, element("div", "editor__buttons"));
    form.lastElementChild.append(save, cancel);

    form.addEventListener("submit", (submitted) => {
      submitted.preventDefault();
      this.saveEdit(article, form);
    });
    cancel.addEventListener("click", () => this.closeEditor(article));
    field.addEventListener("keydown", (key) => {
      if (key.key === "Escape") this.closeEditor(article);
      if (key.key === "Enter" && !key.shiftKey && !key.isComposing) {
        key.preventDefault();
        form.requestSubmit();
      }
    });

    article.querySelector(".message__body").hidden = true;
    article.querySelector(".message__actions").hidden = true;
    article.querySelector(".message__body").after(form);
    field.focus();
    field.setSelectionRange(field.value.length, field.value.length);
  }

  saveEdit(article, form) {
    const seq = Number(article.dataset.seq);
    const text = form.querySelector("textarea").value.trim();
    if (!text) {
      this.alerts.show("A message cannot be empty. Use Delete to remove it.");
      return;
    }
    if (text === this.bodies.get(seq)) {
      this.closeEditor(article);
      return;
    }
    const unsaved = [...this.pendingEdits].find(([, edit]) => edit.seq === seq && edit.text === text);
    if (unsaved) {
      this.socket.retry(unsaved[0]);
    } else {
      let clientId;
      try {
        clientId = this.socket.edit(this.conversationId, seq, text);
      } catch (error) {
        if (!(error instanceof FrameTooLargeError)) throw error;
        this.alerts.show(error.message);
        return;
      }
      this.pendingEdits.set(clientId, { seq, text });
    }
    const save = form.querySelector("[type=submit]");
    save.disabled = true;
    save.textContent = "Saving…";
  }

  editSettled(clientId, state, error) {
    if (state === "pending") return;
    const { seq, text } = this.pendingEdits.get(clientId);
    if (state === "sent") this.pendingEdits.delete(clientId);
    const article = this.article(seq);
    if (!article) return;
    if (state === "sent") {
      // Until the edit event brings the server's HTML, show the new text as typed.
      if (!article.classList.contains("message--deleted") && article.querySelector(".editor")) {
        fillText(article.querySelector(".message__body"), text);
        article.querySelector(".message__edited").hidden = false;
        this.bodies.set(seq, text);
      }
      this.closeEditor(article);
      return;
    }
    const save = article.querySelector(".editor [type=submit]");
    if (save) {
      save.disabled = false;
      save.textContent = "Save";
    }
    if (!error) this.alerts.show("Your change was not saved. Check your connection and try again.");
  }

  closeEditor(article) {
    const form = article.querySelector(".editor");
    if (!form) return;
    form.remove();
    article.querySelector(".message__body").hidden = false;
    const actions = article.querySelector(".message__actions");
    if (actions) {
      actions.hidden = false;
      actions.querySelector("[data-action=edit]").focus();
    }
  }

  deleteMessage(article) {
    if (!window.confirm("Delete this message? Everyone in the conversation will see that it was deleted.")) {
      return;
    }
    const seq = Number(article.dataset.seq);
    const unsent = [...this.pendingDeletes].find(([, target]) => target === seq);
    if (unsent) {
      this.socket.retry(unsent[0]);
    } else {
      this.pendingDeletes.set(this.socket.delete(this.conversationId, seq), seq);
    }
    setBusy(article, true);
  }

  deleteSettled(clientId, state, error) {
    if (state === "pending") return;
    const article = this.article(this.pendingDeletes.get(clientId));
    if (state === "sent") {
      this.pendingDeletes.delete(clientId);
      if (article) this.showDeleted(article);
      return;
    }
    if (!article) return;
    setBusy(article, false);
    if (!error) this.alerts.show("The message was not deleted. Check your connection and try again.");
  }

  // -- other people: typing, receipts, presence ------------------------------------------------

  someoneTyping(frame) {
    if (frame.conversation !== this.conversationId || frame.user?.id === this.viewer.id) return;
    const typer = this.typers.get(frame.user.id);
    clearTimeout(typer?.timer);
    const timer = setTimeout(() => this.stopTyping(frame.user.id), TYPING_SHOWN_FOR_MS);
    this.typers.set(frame.user.id, { name: frame.user.name, timer });
    this.showTypers();
  }

  stopTyping(userId) {
    const typer = this.typers.get(userId);
    if (!typer) return;
    clearTimeout(typer.timer);
    this.typers.delete(userId);
    this.showTypers();
  }

  showTypers() {
    const names = [...this.typers.values()].map((typer) => typer.name);
    if (names.length === 0) this.typingLine.textContent = "";
    else if (names.length === 1) this.typingLine.textContent = `${names[0]} is typing…`;
    else if (names.length === 2) this.typingLine.textContent = `${names[0]} and ${names[1]} are typing…`;
    else this.typingLine.textContent = "Several people are typing…";
  }

  someoneRead(frame) {
    if (frame.conversation !== this.conversationId || frame.user?.id === this.viewer.id) return;
    const participant = this.participants.get(frame.user.id);
    if (!participant) return;
    participant.lastRead = Math.max(participant.lastRead, frame.seq);
    this.updateSeen();
  }

  /** "Seen" goes under the viewer's latest own message that someone else has read. */
  updateSeen() {
    let othersRead = 0;
    for (const [id, participant] of this.participants) {
      if (id !== this.viewer.id) othersRead = Math.max(othersRead, participant.lastRead);
    }
    let seen = null;
    for (const article of this.log.querySelectorAll(".message--mine[data-seq]")) {
      if (Number(article.dataset.seq) <= othersRead) seen = article;
    }
    if (!seen) this.seenMarker.remove();
    else if (this.seenMarker.parentElement !== seen) seen.append(this.seenMarker);
  }

  presenceChanged(frame) {
    const item = document.querySelector(`.participant[data-user-id="${Number(frame.user?.id)}"]`);
    const label = item?.querySelector("[data-presence]");
    if (!label) return;
    item.classList.toggle("participant--online", Boolean(frame.online));
    label.textContent = frame.online ? "online" : "offline";
  }

  // -- scrolling -------------------------------------------------------------------------------

  isNearBottom() {
    const { scrollHeight, scrollTop, clientHeight } = this.timeline;
    return scrollHeight - scrollTop - clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom() {
    this.timeline.scrollTop = this.timeline.scrollHeight;
  }
}

const initial = JSON.parse(document.getElementById("conversation-state").textContent);
new ConversationView(document.querySelector(".conversation"), initial).start();
