// Invoice and payment events of the chat as cards (PROTOCOL.md §3, kinds invoice and payment).
//
// An invoice card shows the invoice's lines, total, milestone, note and state, with the actions
// the viewer may take: the buyer pays or declines an issued invoice, the provider cancels it,
// and refunds a paid one. A payment card shows escrow funded, an invoice paid (total, fee,
// released) or a refund. An invoice's state comes from the latest invoice or payment event
// that names it (data.invoice), so a card turns paid for both parties when the payment event
// arrives. Actions post to the money API with an Idempotency-Key (money.js).

import { CardActions, definitions, element } from "./card-actions.js";
import { amountExample, formatMoney, minorDigits, parseMajor } from "./money.js";
import { getJSON } from "./page.js";

const STATE_LABELS = {
  issued: "Issued",
  paid: "Paid",
  declined: "Declined",
  cancelled: "Cancelled",
  disputed: "Disputed",
};
const INVOICE_EVENTS = new Set(["invoice_issued", "invoice_declined", "invoice_cancelled"]);
const ACTION_LABELS = { pay: "Pay", decline: "Decline", cancel: "Cancel", refund: "Refund", dispute: "Dispute" };

/** What an event says about its invoice, or null when it names none. */
function invoiceFacts(message) {
  const data = message.data ?? {};
  if (!["invoice", "payment"].includes(message.kind) || data.invoice == null) return null;
  const facts = { id: Number(data.invoice), seq: message.seq };
  for (const name of ["contract", "total", "currency", "fee", "refunded"]) {
    if (data[name] !== undefined) facts[name] = data[name];
  }
  if (data.event === "invoice_paid" || data.event === "refund") facts.state = "paid";
  else if (typeof data.state === "string") facts.state = data.state;
  return facts;
}

export class InvoiceCards extends CardActions {
  constructor({ log, viewerId, money, conversationId }) {
    super("invoice");
    this.log = log;
    this.viewerId = viewerId;
    this.role = money.role;
    this.contract = money.contract;
    this.paymentMethods = money.payment_methods ?? [];
    this.conversationId = conversationId;
    this.milestones = new Map((money.contract?.milestones ?? []).map((m) => [m.id, m.title]));
    // invoice id -> {seq, state, total, currency, fee, refunded}: the latest known of each
    this.invoices = new Map();
  }

  // -- state -----------------------------------------------------------------------------------

  /** Learn from an event, in any order (live events and older pages): the latest seq wins. */
  track(message) {
    const facts = invoiceFacts(message);
    if (!facts) return;
    const known = this.invoices.get(facts.id) ?? { seq: 0, refunded: 0 };
    const { seq, state, refunded, ...fixed } = facts;
    const merged = { ...known, ...fixed };
    if (seq > known.seq) {
      merged.seq = seq;
      if (state) merged.state = state;
    }
    if (refunded !== undefined) merged.refunded = Math.max(known.refunded ?? 0, refunded);
    this.invoices.set(facts.id, merged);
    this.refresh(facts.id);
  }

  /** An API answer about an invoice: states only move forward, refunds only grow. */
  learn(answer) {
    const known = this.invoices.get(answer.id);
    if (!known) return;
    if (known.state === "issued" && answer.state !== "issued") known.state = answer.state;
    known.refunded = Math.max(known.refunded ?? 0, answer.refunded ?? 0);
    if (answer.fee) known.fee = answer.fee;
    this.refresh(answer.id);
  }

  refresh(invoiceId) {
    for (const card of this.log.querySelectorAll(`[data-invoice-card="${Number(invoiceId)}"]`)) {
      this.showState(card);
    }
  }

  // -- rendering -------------------------------------------------------------------------------

  /** Turn a rendered invoice or payment message into its card; other messages stay as they are. */
  decorate(article, body, message) {
    const data = message.data ?? {};
    if (message.kind === "invoice" && data.event === "invoice_issued") {
      this.invoiceCard(article, body, message);
    } else if (message.kind === "invoice" && INVOICE_EVENTS.has(data.event)) {
      this.invoiceNote(article, body, message);
    } else if (message.kind === "payment" && ["escrow_funded", "invoice_paid", "refund"].includes(data.event)) {
      this.paymentCard(article, body, message);
    }
  }

  title(article, body, text) {
    const heading = element("h3", "money-card__title", text);
    heading.id = `message-${article.dataset.seq}-title`;
    heading.tabIndex = -1;
    article.setAttribute("aria-labelledby", heading.id);
    article.classList.add("money-card");
    body.classList.remove("message__body--plain");
    return heading;
  }

  invoiceCard(article, body, message) {
    const data = message.data;
    const currency = data.currency;
    const heading = this.title(article, body, `Invoice ${data.invoice}`);
    article.classList.add("invoice-card");
    article.dataset.invoiceCard = data.invoice;

    const status = element("p", "invoice-card__status");
    const tag = element("span", "state-tag");
    tag.dataset.invoiceState = "";
    const refunded = element("span", "invoice-card__refunded");
    refunded.dataset.invoiceRefunded = "";
    status.append("State: ", tag, " ", refunded);

    const table = element("table", "invoice-card__lines");
    table.append(element("caption", "visually-hidden", `Lines of invoice ${data.invoice}`));
    const head = element("thead");
    const headRow = element("tr");
    for (const [text, className] of [["Description", ""], ["Amount", "money-table__amount"]]) {
      const cell = element("th", className, text);
      cell.scope = "col";
      headRow.append(cell);
    }
    head.append(headRow);
    const rows = element("tbody");
    for (const item of data.items ?? []) {
      const row = element("tr");
      row.append(
        element("td", "", item.description),
        element("td", "money-table__amount", formatMoney(item.amount, currency)),
      );
      rows.append(row);
    }
    const foot = element("tfoot");
    const totalRow = element("tr");
    const totalLabel = element("th", "", "Total");
    totalLabel.scope = "row";
    totalRow.append(totalLabel, element("td", "money-table__amount", formatMoney(data.total, currency)));
    foot.append(totalRow);
    table.append(head, rows, foot);

    const parts = [heading, status];
    if (data.milestone != null) {
      const title = this.milestones.get(data.milestone) ?? `milestone ${data.milestone}`;
      parts.push(element("p", "invoice-card__milestone", `Milestone: ${title}`));
    }
    parts.push(table);
    if (data.note) parts.push(element("p", "invoice-card__note", `Note: ${data.note}`));
    if (data.due_at) {
      const due = element("p", "invoice-card__due muted");
      const time = element("time", "", new Date(data.due_at).toLocaleDateString(undefined, { dateStyle: "long" }));
      time.dateTime = data.due_at;
      due.append("Paid automatically on ", time, " unless it is declined first.");
      due.dataset.invoiceDue = "";
      parts.push(due);
    }
    const actions = element("div", "invoice-card__actions");
    actions.dataset.invoiceActions = "";
    const panel = element("div", "invoice-card__panel");
    panel.dataset.invoicePanel = "";
    parts.push(actions, panel);
    body.replaceChildren(...parts);
    this.showState(article);
  }

  /** A decline or cancellation: the server's words, under a title and the state. */
  invoiceNote(article, body, message) {
    const data = message.data;
    const state = STATE_LABELS[data.state] ?? data.state;
    const heading = this.title(article, body, `Invoice ${data.invoice} ${String(state).toLowerCase()}`);
    const text = element("p", "message__body--plain", message.body ?? "");
    body.replaceChildren(heading, text);
  }

  paymentCard(article, body, message) {
    const data = message.data;
    const money = (amount) => formatMoney(amount, data.currency);
    let heading;
    let figures;
    if (data.event === "escrow_funded") {
      heading = this.title(article, body, "Escrow funded");
      figures = [["Funded", money(data.amount)], ["Escrow now holds", money(data.escrow)]];
    } else if (data.event === "invoice_paid") {
      heading = this.title(article, body, `Invoice ${data.invoice} paid`);
      figures = [
        ["Total", money(data.total)],
        ["Platform fee", money(data.fee)],
        ["Released to the provider", money(data.released)],
      ];
    } else {
      heading = this.title(article, body, `Refund on invoice ${data.invoice}`);
      figures = [["Refunded", money(data.amount)], ["Refunded in all", money(data.refunded)]];
    }
    article.classList.add("payment-card");
    const parts = [heading, definitions(figures)];
    if (data.automatic) parts.push(element("p", "muted", "Paid automatically: the due date had passed."));
    body.replaceChildren(...parts);
  }

  /** The card's state tag, refunds and actions, from what is known of its invoice. */
  showState(card) {
    const invoice = this.invoices.get(Number(card.dataset.invoiceCard));
    if (!invoice) return;
    const tag = card.querySelector("[data-invoice-state]");
    tag.textContent = STATE_LABELS[invoice.state] ?? invoice.state;
    tag.className = `state-tag state-tag--${invoice.state}`;
    card.dataset.state = invoice.state;
    card.querySelector("[data-invoice-refunded]").textContent = invoice.refunded
      ? `${formatMoney(invoice.refunded, invoice.currency)} refunded`
      : "";
    card.querySelector("[data-invoice-due]")?.toggleAttribute("hidden", invoice.state !== "issued");
    this.showActions(card, this.actionsFor(invoice), ACTION_LABELS, "pay");
  }

  actionsFor(invoice) {
    const mine = this.contract && this.role;
    if (!mine) return [];
    if (this.role === "buyer" && invoice.state === "issued") return ["pay", "decline", "dispute"];
    if (this.role === "provider" && invoice.state === "issued") return ["cancel", "dispute"];
    if (this.role === "provider" && invoice.state === "paid" && invoice.total - (invoice.refunded ?? 0) > 0) {
      return ["refund"];
    }
    return [];
  }

  // -- action forms ----------------------------------------------------------------------------

  formFor(card, action) {
    return this[`${action}Form`](card, this.invoices.get(Number(card.dataset.invoiceCard)));
  }

  methodSelect(card) {
    const select = element("select");
    for (const method of this.paymentMethods) {
      const option = element("option", "", method.label);
      option.value = method.value;
      select.append(option);
    }
    return this.field(card, "payment_method", "Payment method", select);
  }

  payForm(card, invoice) {
    const intro = element("p", "invoice-action__intro", "Checking what escrow holds…");
    intro.setAttribute("aria-live", "polite");
    const method = this.methodSelect(card);
    method.hidden = true;
    const form = this.actionForm(card, { submitText: "Confirm payment", intro: [intro], fields: [method] });
    const total = formatMoney(invoice.total, invoice.currency);
    getJSON(`/api/contracts/${invoice.contract ?? this.contract.id}/ledger/`).then(
      (ledger) => {
        const held = ledger.balances.escrow;
        const short = invoice.total - held;
        if (short > 0) {
          intro.textContent =
            `Escrow holds ${formatMoney(held, invoice.currency)}: the remaining ` +
            `${formatMoney(short, invoice.currency)} of ${total} is charged to your payment method.`;
          method.hidden = false;
        } else {
          intro.textContent = `${total} is released from escrow to the provider, less the platform fee.`;
        }
      },
      () => {
        intro.textContent = `${total} is paid from escrow; if escrow holds less, the rest is charged to the payment method.`;
        method.hidden = false;
      },
    );
    this.onSubmit(card, form, `/api/invoices/${invoice.id}/pay/`, () => ({
      payment_method: method.hidden ? "" : form.elements.payment_method.value,
    }), {
      place: (error) => {
        if (error.code === "escrow_insufficient") {
          method.hidden = false;
          return { form: [error.message] };
        }
        if (["payment_declined", "insufficient_funds"].includes(error.code)) {
          return { payment_method: [error.message] };
        }
        return null;
      },
    });
    return form;
  }

  declineForm(card, invoice) {
    const reason = element("textarea");
    reason.rows = 2;
    reason.maxLength = 2000;
    const form = this.actionForm(card, {
      submitText: "Decline invoice",
      fields: [this.field(card, "reason", "Reason for declining", reason)],
    });
    this.onSubmit(card, form, `/api/invoices/${invoice.id}/decline/`, () => {
      if (!reason.value.trim()) return { errors: { reason: ["Say why you decline it."] } };
      return { reason: reason.value.trim() };
    });
    return form;
  }

  cancelForm(card, invoice) {
    const intro = element("p", "invoice-action__intro", "The buyer will no longer be able to pay this invoice.");
    const form = this.actionForm(card, { submitText: "Cancel invoice", intro: [intro] });
    this.onSubmit(card, form, `/api/invoices/${invoice.id}/cancel/`, () => ({}));
    return form;
  }

  disputeForm(card, invoice) {
    // Opens a dispute on the invoice (POST /api/disputes/): the disputed amount is frozen in
    // escrow and the invoice with it; the dispute's own cards follow in the chat.
    const reason = element("textarea");
    reason.rows = 2;
    reason.maxLength = 2000;
    const amount = element("input");
    amount.inputMode = "decimal";
    amount.autocomplete = "off";
    const digits = minorDigits(invoice.currency);
    amount.value = (invoice.total / 10 ** digits).toFixed(digits); // the whole invoice, to start
    const intro = element(
      "p",
      "invoice-action__intro",
      "Support can step in if you do not agree: first you trade settlement proposals here.",
    );
    const form = this.actionForm(card, {
      submitText: "Open dispute",
      intro: [intro],
      fields: [
        this.field(card, "reason", "What is wrong", reason),
        this.field(card, "amount", `Disputed amount (${invoice.currency})`, amount),
      ],
    });
    this.onSubmit(card, form, "/api/disputes/", () => {
      const errors = {};
      const minor = parseMajor(amount.value, invoice.currency);
      if (!reason.value.trim()) errors.reason = ["Say what is wrong."];
      if (minor === null || minor <= 0) errors.amount = [`Enter an amount like ${amountExample(invoice.currency)}.`];
      if (Object.keys(errors).length) return { errors };
      return { contract: this.contract.id, invoice: invoice.id, reason: reason.value.trim(), amount: minor };
    }, {
      place: (error) => (error.code === "dispute_exceeds_escrow" ? { amount: [error.message] } : null),
      learned: () => ({ id: invoice.id, state: "disputed" }),
    });
    return form;
  }

  refundForm(card, invoice) {
    const left = invoice.total - (invoice.refunded ?? 0);
    const amount = element("input");
    amount.inputMode = "decimal";
    amount.autocomplete = "off";
    const field = this.field(card, "amount", `Refund amount (${invoice.currency})`, amount);
    const hint = element("p", "field__hint", `At most ${formatMoney(left, invoice.currency)} is left to refund.`);
    hint.id = `${amount.id}-hint`;
    amount.setAttribute("aria-describedby", hint.id);
    field.querySelector("input").after(hint);
    const form = this.actionForm(card, { submitText: "Send refund", fields: [field] });
    this.onSubmit(card, form, `/api/invoices/${invoice.id}/refund/`, () => {
      const minor = parseMajor(amount.value, invoice.currency);
      if (minor === null || minor <= 0) {
        const text = amount.value.trim()
          ? `Enter an amount like ${amountExample(invoice.currency)}, above zero.`
          : "Enter an amount.";
        return { errors: { amount: [text] } };
      }
      if (minor > left) return { errors: { amount: [`At most ${formatMoney(left, invoice.currency)}.`] } };
      return { amount: minor };
    }, { place: (error) => (error.code === "refund_too_large" ? { amount: [error.message] } : null) });
    return form;
  }
}
