// The actions of a money card in the chat (invoice cards, dispute cards): a row of buttons,
// one panel under them holding the form of the action opened, and the form's round trip to
// the money API (an Idempotency-Key per form, money.js), with the refusal shown at the
// fields it names. A card class extends CardActions with its own `kind` ("invoice",
// "dispute": the data attributes it marks its parts with), `formFor(card, action)` and
// `learn(answer)`.

import { MoneyRequest, fieldLines, showFieldError } from "./money.js";

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function smallButton(text, className = "button button--small") {
  const node = element("button", className, text);
  node.type = "button";
  return node;
}

/** A card's figures: a definition list of [term, value] rows. */
export function definitions(rows) {
  const list = element("dl", "money-card__figures");
  for (const [term, value] of rows) {
    const row = element("div");
    row.append(element("dt", "", term), element("dd", "", value));
    list.append(row);
  }
  return list;
}

export class CardActions {
  constructor(kind) {
    this.kind = kind;
    this.actionKey = `${kind}Action`; // dataset name of data-<kind>-action
  }

  panelOf(card) {
    return card.querySelector(`[data-${this.kind}-panel]`);
  }

  controlsOf(card) {
    return card.querySelectorAll(`[data-${this.kind}-action]`);
  }

  /** Show the buttons of ``wanted`` actions, keeping an open form that is still wanted. */
  showActions(card, wanted, labels, primary) {
    const actions = card.querySelector(`[data-${this.kind}-actions]`);
    if (!actions) return;
    const shown = [...actions.children].map((control) => control.dataset[this.actionKey]);
    if (wanted.join() === shown.join()) return;
    const open = this.panelOf(card).dataset.open;
    if (open && !wanted.includes(open)) this.closePanel(card, { focus: false });
    actions.replaceChildren(
      ...wanted.map((action) => this.actionButton(card, action, labels[action], action === primary)),
    );
  }

  actionButton(card, action, text, primary) {
    const control = smallButton(text, `button button--small${primary ? " button--primary" : ""}`);
    control.dataset[this.actionKey] = action;
    control.setAttribute("aria-describedby", card.querySelector(".money-card__title").id);
    control.setAttribute("aria-expanded", "false");
    const panel = this.panelOf(card);
    panel.id ||= `message-${card.dataset.seq}-${this.kind}-panel`;
    control.setAttribute("aria-controls", panel.id);
    control.addEventListener("click", () => {
      if (panel.dataset.open === action) this.closePanel(card);
      else this.openPanel(card, action);
    });
    return control;
  }

  closePanel(card, { focus = true } = {}) {
    const panel = this.panelOf(card);
    const action = panel.dataset.open;
    delete panel.dataset.open;
    panel.replaceChildren();
    for (const control of this.controlsOf(card)) control.setAttribute("aria-expanded", "false");
    if (focus) card.querySelector(`[data-${this.kind}-action="${action}"]`)?.focus();
  }

  openPanel(card, action) {
    const panel = this.panelOf(card);
    panel.dataset.open = action;
    for (const control of this.controlsOf(card)) {
      control.setAttribute("aria-expanded", String(control.dataset[this.actionKey] === action));
    }
    const form = this.formFor(card, action);
    form.classList.add("invoice-action");
    form.noValidate = true;
    panel.replaceChildren(form);
    form.querySelector("input, select, textarea, [type=submit]")?.focus();
  }

  /** The parts every action form has: an alert area, fields, the submit and Close. */
  actionForm(card, { submitText, fields = [], intro = [] }) {
    const form = element("form");
    const problem = element("div", "form__error");
    problem.setAttribute("role", "alert");
    problem.hidden = true;
    problem.dataset.problem = "";
    const submit = element("button", "button button--primary button--small", submitText);
    submit.type = "submit";
    const close = smallButton("Close", "button button--quiet button--small");
    close.addEventListener("click", () => this.closePanel(card));
    const buttons = element("div", "invoice-action__buttons");
    buttons.append(submit, close);
    form.append(problem, ...intro, ...fields, buttons);
    form.request = new MoneyRequest();
    return form;
  }

  field(card, name, label, control) {
    const wrapper = element("div", "field");
    const id = `message-${card.dataset.seq}-${this.kind}-${name}`;
    const labelNode = element("label", "field__label", label);
    labelNode.htmlFor = id;
    control.id = id;
    control.name = name;
    const error = element("p", "field__error");
    error.id = `${id}-error`;
    error.hidden = true;
    wrapper.append(labelNode, control, error);
    return wrapper;
  }

  /**
   * Post the form's body (``read`` returns it, or {errors} to show without posting); on an
   * answer, learn from it (``learned`` may turn it into what ``learn`` takes); on a refusal,
   * show its errors at the fields (``place`` may put an error code somewhere particular).
   */
  onSubmit(card, form, url, read, { place = () => null, learned = (answer) => answer } = {}) {
    const submit = form.querySelector("[type=submit]");
    const submitText = submit.textContent;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      this.showErrors(form, {});
      const body = read();
      if (body.errors) {
        this.showErrors(form, body.errors);
        return;
      }
      submit.disabled = true;
      submit.textContent = "Sending…";
      try {
        const answer = await form.request.post(url, body);
        this.closePanel(card, { focus: false });
        this.learn(learned(answer));
        card.querySelector(".money-card__title").focus();
      } catch (error) {
        const placed = place(error);
        const errors = placed ?? Object.fromEntries(
          Object.entries(error.fields ?? {}).filter(([name]) => form.elements[name]),
        );
        if (!Object.keys(errors).length) errors.form = [error.message];
        this.showErrors(form, errors);
      } finally {
        submit.disabled = false;
        submit.textContent = submitText;
      }
    });
  }

  showErrors(form, errors) {
    const problem = form.querySelector("[data-problem]");
    const general = fieldLines(errors.form);
    for (const control of form.querySelectorAll("input, select, textarea")) {
      const error = form.querySelector(`#${CSS.escape(control.id)}-error`);
      if (error) showFieldError(control, error, fieldLines(errors[control.name]));
    }
    const fieldsMarked = Object.keys(errors).some((name) => name !== "form");
    const text = general.length ? general.join(" ") : fieldsMarked ? "Please correct the fields marked below." : "";
    problem.textContent = text;
    problem.hidden = !text;
    (form.querySelector("[aria-invalid=true]") ?? null)?.focus();
  }
}
