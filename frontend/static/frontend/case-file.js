// The support console's case file: "Remove text" on a message of the conversation's record.
//
// The page renders a hidden "Remove text" button (data-redact-open, data-seq) on each text or
// file message whose text is still there; this script shows them. A button opens the dialog
// (data-redact-dialog): a reason and a required "Why", and "Remove text" to confirm (Cancel or
// Escape send nothing). It posts POST /api/staff/cases/{id}/redact/ {"seq", "reason", "why"}
// (docs/evidence.md, "Redaction") with the form's CSRF token, then shows the message, and its
// edits the answer names, as "Text removed by support", as the server renders a removed text.
// A refusal goes to the page's alert area.

import { Alerts } from "./page.js";

const REMOVED = "Text removed by support";
const OFFLINE = "The text could not be removed. Check your connection and try again.";
const FIELD_MISSING = { reason: "Choose a reason.", why: "Say why you remove it." };

/** A field's messages from the API's error shape: a list of strings, or one string. */
function fieldLines(value) {
  if (Array.isArray(value)) return value.filter((line) => typeof line === "string");
  return typeof value === "string" ? [value] : [];
}

/** What a refusal says: the messages of the fields it names, else its message (as the
 * console's own forms show a service's refusal). */
function refusalText(error, status) {
  const lines = Object.values(error.fields ?? {}).flatMap(fieldLines);
  return lines.join(" ") || error.message || `The server answered ${status}.`;
}

function removedMark() {
  const mark = document.createElement("em");
  mark.className = "case-record__removed";
  mark.textContent = REMOVED;
  return mark;
}

/** Show rows ``seqs`` as the page shows a removed text: no text, no action on it. */
function markRemoved(seqs) {
  for (const seq of seqs) {
    const row = document.querySelector(`.case-record tr[data-seq="${Number(seq)}"]`);
    if (!row) continue;
    row.querySelector("[data-record-text]")?.replaceChildren(removedMark());
    for (const action of row.querySelectorAll("[data-redact-open], [data-file-download]")) {
      action.remove();
    }
  }
}

class RedactDialog {
  constructor(dialog, { alerts, done }) {
    this.dialog = dialog;
    this.alerts = alerts;
    this.done = done;
    this.url = dialog.dataset.redactUrl;
    this.heading = dialog.querySelector("[data-redact-heading]");
    this.form = dialog.querySelector("[data-redact-form]");
    this.submit = this.form.querySelector("[type=submit]");
    this.fields = { reason: this.form.elements.reason, why: this.form.elements.why };
    this.seq = null;

    for (const opener of document.querySelectorAll("[data-redact-open]")) {
      opener.hidden = false;
      opener.addEventListener("click", () => this.open(opener));
    }
    dialog.querySelector("[data-redact-cancel]").addEventListener("click", () => dialog.close());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
  }

  open(opener) {
    this.seq = Number(opener.dataset.seq);
    this.heading.textContent = `Remove the text of message #${this.seq}`;
    this.form.reset();
    this.clearErrors();
    this.dialog.showModal();
    this.fields.reason.focus();
  }

  clearErrors() {
    for (const name of Object.keys(this.fields)) this.fieldError(name, []);
  }

  fieldError(name, lines) {
    const input = this.fields[name];
    const error = this.form.querySelector(`#redact-${name}-error`);
    error.textContent = lines.join(" ");
    error.hidden = lines.length === 0;
    const described = (input.getAttribute("aria-describedby") || "")
      .split(" ")
      .filter((id) => id && id !== error.id);
    if (lines.length) {
      described.push(error.id);
      input.setAttribute("aria-invalid", "true");
    } else {
      input.removeAttribute("aria-invalid");
    }
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
    else input.removeAttribute("aria-describedby");
  }

  /** The fields' values, or null after marking the missing ones (nothing is sent then). */
  filledIn() {
    const values = { reason: this.fields.reason.value, why: this.fields.why.value.trim() };
    const missing = Object.keys(values).filter((name) => !values[name]);
    for (const name of missing) this.fieldError(name, [FIELD_MISSING[name]]);
    if (missing.length) {
      this.fields[missing[0]].focus();
      return null;
    }
    return values;
  }

  async send() {
    this.clearErrors();
    const values = this.filledIn();
    if (!values) return;
    const seq = this.seq;
    this.submit.disabled = true;
    let response;
    let answer;
    try {
      response = await fetch(this.url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          "X-CSRFToken": this.form.elements.csrfmiddlewaretoken.value,
        },
        body: JSON.stringify({ seq, ...values }),
      });
      answer = await response.json().catch(() => null);
    } catch {
      this.dialog.close();
      this.alerts.show(OFFLINE);
      return;
    } finally {
      this.submit.disabled = false;
    }
    this.dialog.close();
    if (!response.ok) {
      this.alerts.show(refusalText(answer?.error ?? {}, response.status));
      return;
    }
    this.alerts.clear();
    markRemoved(answer.redacted);
    this.done.textContent =
      `The text of message #${answer.seq} is removed. ` +
      `The conversation says so in event #${answer.redaction_seq}.`;
    this.done.focus(); // the button that opened the dialog is gone
  }
}

const dialog = document.querySelector("[data-redact-dialog]");
if (dialog) {
  new RedactDialog(dialog, {
    alerts: new Alerts(document.querySelector("[data-alerts]")),
    done: document.querySelector("[data-redact-done]"),
  });
}
