// Tells the sender, before they send, what of their draft will be hidden (PROTOCOL.md §4):
// contact details until the contract is funded, off-platform payment details always. The
// draft is checked by POST /api/conversations/{id}/contact-check/ a moment after typing stops;
// the server decides, so the rule lives in one place. Each such draft is a fraud signal there.

import { csrfToken } from "./money.js";

const PAUSE_MS = 400;
const WHAT = {
  phone: "phone numbers",
  email: "e-mail addresses",
  handle: "messenger links and handles",
  url: "links",
  payment: "payment details",
};

function explanation(result) {
  const kinds = [...new Set(result.redactions.map((r) => WHAT[r.kind] || r.kind))];
  const why = result.unlocked
    ? "Payments stay on Chatbox, so payment details are always hidden."
    : "Until the contract is funded, contact details are hidden: talk and pay here, where you are protected.";
  return `This message will hide ${kinds.join(", ")}. ${why}`;
}

class ContactCheck {
  constructor(composer, conversationId) {
    this.input = composer.querySelector("textarea");
    this.url = `/api/conversations/${conversationId}/contact-check/`;
    this.notice = document.createElement("p");
    this.notice.className = "composer__notice";
    this.notice.setAttribute("role", "status");
    this.notice.dataset.contactNotice = "";
    this.notice.hidden = true;
    composer.append(this.notice);
    this.timer = null;
    this.asked = 0;
    this.input.addEventListener("input", () => this.schedule());
    composer.addEventListener("submit", () => this.clear());
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), PAUSE_MS);
  }

  clear() {
    clearTimeout(this.timer);
    this.asked += 1; // an answer still on its way is for the draft that was just sent
    this.notice.hidden = true;
    this.notice.textContent = "";
  }

  async check() {
    const draft = this.input.value;
    const asked = ++this.asked;
    if (!draft.trim()) {
      this.clear();
      return;
    }
    let result;
    try {
      const response = await fetch(this.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ body: draft }),
      });
      if (!response.ok) return; // the send itself reports problems
      result = await response.json();
    } catch {
      return; // offline: the chat's own status says so
    }
    if (asked !== this.asked) return; // a newer draft was checked since
    this.notice.hidden = result.redactions.length === 0;
    this.notice.textContent = result.redactions.length ? explanation(result) : "";
  }
}

const state = JSON.parse(document.getElementById("conversation-state").textContent);
new ContactCheck(document.querySelector("[data-composer]"), state.conversation.id);
