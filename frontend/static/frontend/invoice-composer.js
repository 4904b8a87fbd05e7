// The provider's invoice composer in the chat: a dialog with line items, the milestone the
// invoice covers and a note, posted to POST /api/conversations/{id}/invoices/ with an
// Idempotency-Key. The invoice itself shows up in the log as a card when its event arrives.

import {
  MoneyRequest,
  amountExample,
  fieldLines,
  formatMoney,
  parseMajor,
  readMoneyState,
  showFieldError,
} from "./money.js";

const MAX_LINES = 50;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function hiddenText(text) {
  return element("span", "visually-hidden", text);
}

class InvoiceComposer {
  constructor(dialog, opener, conversationId, money) {
    this.dialog = dialog;
    this.opener = opener;
    this.contract = money.contract;
    this.currency = money.contract.currency;
    this.url = `/api/conversations/${conversationId}/invoices/`;
    this.request = new MoneyRequest();
    this.lineCount = 0;

    this.form = dialog.querySelector("[data-invoice-form]");
    this.lines = dialog.querySelector("[data-invoice-lines]");
    this.addButton = dialog.querySelector("[data-invoice-add]");
    this.total = dialog.querySelector("[data-invoice-total]");
    this.problem = dialog.querySelector("[data-invoice-problem]");
    this.itemsError = dialog.querySelector("[data-invoice-items-error]");
    this.milestone = this.form.elements.milestone;
    this.note = this.form.elements.note;
    this.submit = this.form.querySelector("[type=submit]");

    this.addLine();
    this.showTotal();
    opener.addEventListener("click", () => this.open());
    dialog.querySelector("[data-invoice-close]").addEventListener("click", () => dialog.close());
    this.addButton.addEventListener("click", () => this.addLine().querySelector("input").focus());
    this.lines.addEventListener("input", () => this.showTotal());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
  }

  open() {
    this.dialog.showModal();
    this.lines.querySelector("input")?.focus();
  }

  // -- lines -----------------------------------------------------------------------------------

  addLine() {
    const id = `invoice-line-${++this.lineCount}`;
    const line = element("li", "invoice-line");
    line.dataset.line = "";
    const description = this.field(`${id}-description`, "Description", "text");
    description.input.maxLength = 200;
    const amount = this.field(`${id}-amount`, `Amount (${this.currency})`, "text");
    amount.input.inputMode = "decimal";
    amount.input.autocomplete = "off";
    const remove = element("button", "button button--quiet button--small invoice-line__remove");
    remove.type = "button";
    remove.append("Remove", hiddenText(""));
    remove.addEventListener("click", () => this.removeLine(line));
    line.append(description.wrapper, amount.wrapper, remove);
    this.lines.append(line);
    this.numberLines();
    return line;
  }

  field(id, text, type) {
    const wrapper = element("div", "field");
    const label = element("label", "field__label", text);
    label.htmlFor = id;
    label.append(hiddenText(""));
    const input = element("input");
    input.id = id;
    input.type = type;
    const error = element("p", "field__error");
    error.id = `${id}-error`;
    error.hidden = true;
    wrapper.append(label, input, error);
    return { wrapper, input };
  }

  removeLine(line) {
    const next = line.nextElementSibling ?? line.previousElementSibling;
    line.remove();
    this.numberLines();
    this.showTotal();
    (next?.querySelector("input") ?? this.addButton).focus();
  }

  /** Labels say which line they belong to ("Amount (EUR) of line 2"), kept in order. */
  numberLines() {
    const lines = [...this.lines.children];
    lines.forEach((line, index) => {
      for (const hidden of line.querySelectorAll("label .visually-hidden")) {
        hidden.textContent = ` of line ${index + 1}`;
      }
      line.querySelector(".invoice-line__remove .visually-hidden").textContent = ` line ${index + 1}`;
      line.querySelector(".invoice-line__remove").hidden = lines.length === 1;
    });
    this.addButton.disabled = lines.length >= MAX_LINES;
  }

  lineInputs(line) {
    const [description, amount] = line.querySelectorAll("input");
    return { description, amount };
  }

  showTotal() {
    let total = 0;
    for (const line of this.lines.children) {
      total += parseMajor(this.lineInputs(line).amount.value, this.currency) ?? 0;
    }
    this.total.textContent = formatMoney(total, this.currency);
  }

  // -- sending ---------------------------------------------------------------------------------

  clearErrors() {
    this.problem.replaceChildren();
    this.problem.hidden = true;
    this.itemsError.textContent = "";
    this.itemsError.hidden = true;
    for (const input of this.form.querySelectorAll("input, select, textarea")) {
      const error = this.form.querySelector(`#${CSS.escape(input.id)}-error`);
      if (error) showFieldError(input, error, []);
    }
  }

  fieldError(input, lines) {
    showFieldError(input, this.form.querySelector(`#${CSS.escape(input.id)}-error`), lines);
  }

  showProblem(text, { link } = {}) {
    const paragraph = element("p", "", text);
    if (link) {
      const anchor = element("a", "", link.text);
      anchor.href = link.href;
      paragraph.append(" ", anchor);
    }
    this.problem.replaceChildren(paragraph);
    this.problem.hidden = false;
  }

  /** The lines as the API takes them, or null after marking what is wrong. */
  items() {
    const items = [];
    let valid = true;
    for (const line of this.lines.children) {
      const { description, amount } = this.lineInputs(line);
      const minor = parseMajor(amount.value, this.currency);
      if (!description.value.trim()) {
        this.fieldError(description, ["Describe this line."]);
        valid = false;
      }
      if (minor === null || minor <= 0) {
        this.fieldError(amount, [
          amount.value.trim()
            ? `Enter an amount like ${amountExample(this.currency)}, above zero.`
            : "Enter an amount.",
        ]);
        valid = false;
      }
      items.push({ description: description.value.trim(), amount: minor });
    }
    return valid ? items : null;
  }

  async send() {
    this.clearErrors();
    const items = this.items();
    if (!items) {
      this.showProblem("The invoice was not sent: please correct the fields marked below.");
      this.form.querySelector("[aria-invalid=true]")?.focus();
      return;
    }
    const body = {
      contract: this.contract.id,
      currency: this.currency,
      items,
      note: this.note.value.trim(),
      milestone: this.milestone.value ? Number(this.milestone.value) : null,
    };
    this.submit.disabled = true;
    this.submit.textContent = "Sending…";
    try {
      await this.request.post(this.url, body);
    } catch (error) {
      this.refused(error);
      return;
    } finally {
      this.submit.disabled = false;
      this.submit.textContent = "Send invoice";
    }
    this.reset();
    this.dialog.close();
  }

  refused(error) {
    const fields = error.fields ?? {};
    const lines = [...this.lines.children];
    let marked = false;
    if (Array.isArray(fields.items) && fields.items.some((item) => item && typeof item === "object")) {
      fields.items.forEach((item, index) => {
        if (!item || typeof item !== "object" || !lines[index]) return;
        const { description, amount } = this.lineInputs(lines[index]);
        for (const [name, input] of [["description", description], ["amount", amount]]) {
          if (fieldLines(item[name]).length) {
            this.fieldError(input, fieldLines(item[name]));
            marked = true;
          }
        }
      });
    } else if (fieldLines(fields.items).length) {
      this.itemsError.textContent = fieldLines(fields.items).join(" ");
      this.itemsError.hidden = false;
      marked = true;
    }
    for (const [name, input] of [["milestone", this.milestone], ["note", this.note]]) {
      if (fieldLines(fields[name]).length) {
        this.fieldError(input, fieldLines(fields[name]));
        marked = true;
      }
    }
    const others = ["currency", "contract", "non_field_errors"].flatMap((name) => fieldLines(fields[name]));
    if (error.code === "verification_required") {
      this.showProblem(error.message, { link: { href: "/account/phone/", text: "Verify your phone number" } });
    } else if (others.length) {
      this.showProblem(others.join(" "));
    } else if (marked) {
      this.showProblem("The invoice was not sent: please correct the fields marked below.");
    } else {
      this.showProblem(error.message);
    }
    (this.form.querySelector("[aria-invalid=true]") ?? this.problem).focus?.();
  }

  reset() {
    this.form.reset();
    this.lines.replaceChildren();
    this.addLine();
    this.showTotal();
    this.clearErrors();
  }
}

const dialog = document.querySelector("[data-invoice-dialog]");
const opener = document.querySelector("[data-invoice-open]");
const money = readMoneyState();
if (dialog && opener && money.contract) {
  const conversation = JSON.parse(document.getElementById("conversation-state").textContent);
  new InvoiceComposer(dialog, opener, conversation.conversation.id, money);
}
