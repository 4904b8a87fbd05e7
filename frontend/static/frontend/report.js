// The "Report" dialog: a member reports a message, a member or a listing to support.
//
// Any button with data-report-type opens it — "message" (with data-report-conversation and
// data-report-seq), "user" or "project" (with data-report-id) — and data-report-heading names
// what is reported. Buttons may come later (the conversation page renders messages as they
// arrive), so one listener on the document serves them all. "Send report" posts
// POST /api/reports/ (PROTOCOL.md §6) with the CSRF token and shows the thanks, or the API's
// refusal at the field it names.

const THANKS = "Thanks — support will look at it.";
const OFFLINE = "The report could not be sent. Check your connection and try again.";

function csrfToken() {
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (field) return field.value;
  const cookie = document.cookie.split("; ").find((pair) => pair.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
}

function targetOf(opener) {
  const { reportType, reportId, reportConversation, reportSeq } = opener.dataset;
  if (reportType === "message") {
    return { type: "message", conversation: reportConversation, seq: Number(reportSeq) };
  }
  return { type: reportType, id: Number(reportId) };
}

/** A field's messages from the API's error shape: a list of strings, or one string. */
function fieldLines(value) {
  if (Array.isArray(value)) return value.filter((line) => typeof line === "string");
  return typeof value === "string" ? [value] : [];
}

class ReportDialog {
  constructor(dialog) {
    this.dialog = dialog;
    this.heading = dialog.querySelector("[data-report-heading]");
    this.form = dialog.querySelector("[data-report-form]");
    this.problem = dialog.querySelector("[data-report-problem]");
    this.done = dialog.querySelector("[data-report-done]");
    this.submit = this.form.querySelector("[type=submit]");
    this.fields = { reason: this.form.elements.reason, note: this.form.elements.note };
    this.target = null;

    document.addEventListener("click", (event) => {
      const opener = event.target.closest("[data-report-type]");
      if (opener) this.open(opener);
    });
    dialog.querySelector("[data-report-close]").addEventListener("click", () => dialog.close());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
  }

  open(opener) {
    this.target = targetOf(opener);
    this.heading.textContent = opener.dataset.reportHeading || "Report";
    this.form.reset();
    this.form.hidden = false;
    this.done.textContent = "";
    this.clearErrors();
    this.dialog.showModal();
    this.fields.reason.focus();
  }

  clearErrors() {
    this.problem.replaceChildren();
    this.problem.hidden = true;
    for (const [name, input] of Object.entries(this.fields)) this.fieldError(name, input, []);
  }

  fieldError(name, input, lines) {
    const error = this.form.querySelector(`#report-${name}-error`);
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
    input.setAttribute("aria-describedby", described.join(" "));
  }

  showProblem(text) {
    const paragraph = document.createElement("p");
    paragraph.textContent = text;
    this.problem.replaceChildren(paragraph);
    this.problem.hidden = false;
  }

  async send() {
    this.clearErrors();
    const reason = this.fields.reason.value;
    if (!reason) {
      this.fieldError("reason", this.fields.reason, ["Choose a reason."]);
      this.fields.reason.focus();
      return;
    }
    this.submit.disabled = true;
    try {
      const response = await fetch("/api/reports/", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          "X-CSRFToken": csrfToken(),
        },
        body: JSON.stringify({ target: this.target, reason, note: this.fields.note.value.trim() }),
      });
      const body = await response.json().catch(() => null);
      if (response.ok) {
        this.form.hidden = true;
        this.done.textContent = THANKS;
        this.dialog.querySelector("[data-report-close]").focus();
      } else {
        this.refused(body?.error ?? {}, response.status);
      }
    } catch {
      this.showProblem(OFFLINE);
    } finally {
      this.submit.disabled = false;
    }
  }

  /** The API's refusal: messages of the fields it names at those fields, the rest above. */
  refused(error, status) {
    const fields = error.fields ?? {};
    let marked = false;
    for (const [name, input] of Object.entries(this.fields)) {
      const lines = fieldLines(fields[name]);
      if (lines.length) {
        this.fieldError(name, input, lines);
        marked = true;
      }
    }
    const others = Object.entries(fields)
      .filter(([name]) => !(name in this.fields))
      .flatMap(([, value]) => fieldLines(value));
    if (others.length) this.showProblem(others.join(" "));
    else if (!marked) this.showProblem(error.message ?? `The server answered ${status}.`);
  }
}

const dialog = document.querySelector("[data-report-dialog]");
if (dialog) new ReportDialog(dialog);
