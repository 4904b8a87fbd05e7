// Dispute events of the chat as cards (PROTOCOL.md §3 kind "dispute", §6; docs/disputes.md).
//
// Every step of a dispute is a `dispute` event whose data names the dispute, its amount and
// currency, its stage and deadline, and who the buyer, the provider, the opener and the
// mediator are. Cards: the dispute opened (with "Propose a settlement" and "Escalate" for the
// parties, and "Propose a settlement" for the mediator in mediation), each proposal (with
// "Accept proposal" for a party who may accept it), escalations, and the outcome (settled,
// decided in arbitration, or lost by default) with what went where. What a card offers comes
// from the latest known state of its dispute, learnt from events in any order (live events
// and older pages) and from the API's answers. Actions post to the disputes API with an
// Idempotency-Key (money.js). Free text (reasons, notes) is in the event's body, shown as is.

import { CardActions, definitions, element } from "./card-actions.js";
import { amountExample, formatMoney, parseMajor } from "./money.js";

const STAGE_LABELS = {
  direct: "Direct resolution",
  mediation: "Mediation",
  arbitration: "Arbitration",
  resolved: "Resolved",
};
const PROPOSAL_LABELS = { open: "Open", accepted: "Accepted", superseded: "Superseded" };
const STAGE_ORDER = ["direct", "mediation", "arbitration", "resolved"];
const TALKING = new Set(["direct", "mediation"]);
const ACTION_LABELS = { propose: "Propose a settlement", escalate: "Escalate", accept: "Accept proposal" };
const OUTCOME_TITLES = {
  dispute_settled: "Dispute settled",
  dispute_decided: "Dispute decided in arbitration",
  dispute_default: "Dispute won by default",
};

function stageRank(stage) {
  return STAGE_ORDER.indexOf(stage);
}

export class DisputeCards extends CardActions {
  constructor({ log, viewerId }) {
    super("dispute");
    this.log = log;
    this.viewerId = Number(viewerId);
    // dispute id -> {seq, stage, deadline_at, amount, currency, buyer, provider, opened_by,
    //                mediator, proposals: Map(proposal id -> {refund, release, by, side, state,
    //                accepted_by})}
    this.disputes = new Map();
  }

  // -- state -----------------------------------------------------------------------------------

  /** Learn from a dispute event, in any order: the latest seq sets the stage. */
  track(message) {
    const data = message.data ?? {};
    if (message.kind !== "dispute" || data.dispute == null) return;
    const id = Number(data.dispute);
    const known = this.disputes.get(id) ?? { seq: 0, proposals: new Map() };
    for (const name of ["amount", "currency", "buyer", "provider", "opened_by", "invoice"]) {
      if (data[name] !== undefined) known[name] = data[name];
    }
    if (message.seq > known.seq) {
      known.seq = message.seq;
      known.stage = data.stage;
      known.deadline_at = data.deadline_at;
      known.mediator = data.mediator;
    }
    const proposals = known.proposals;
    if (data.event === "dispute_proposal") {
      const proposal = proposals.get(data.proposal) ?? { state: "open", accepted_by: null };
      Object.assign(proposal, {
        refund: data.refund,
        release: data.release,
        by: data.by,
        side: data.side,
        seq: message.seq,
      });
      proposals.set(data.proposal, proposal);
      for (const old of data.superseded ?? []) {
        const earlier = proposals.get(old) ?? {};
        earlier.state = "superseded";
        proposals.set(old, earlier);
      }
    } else if (data.event === "dispute_proposal_accepted") {
      const proposal = proposals.get(data.proposal) ?? { state: "open" };
      proposal.accepted_by = data.by;
      proposals.set(data.proposal, proposal);
    } else if (data.event === "dispute_settled") {
      const proposal = proposals.get(data.proposal) ?? {};
      proposal.state = "accepted";
      proposals.set(data.proposal, proposal);
    }
    if (known.stage === "resolved") {
      for (const proposal of proposals.values()) {
        if (proposal.state === "open") proposal.state = "superseded";
      }
    }
    this.disputes.set(id, known);
    this.refresh(id);
  }

  /** An API answer (the dispute with its proposals): stages only move forward. */
  learn(answer) {
    if (answer?.id == null || !Array.isArray(answer.proposals)) return;
    const known = this.disputes.get(answer.id);
    if (!known) return;
    if (stageRank(answer.stage) >= stageRank(known.stage)) {
      known.stage = answer.stage;
      known.deadline_at = answer.deadline_at;
      known.mediator = answer.mediator;
    }
    for (const shown of answer.proposals) {
      const proposal = known.proposals.get(shown.id) ?? {};
      Object.assign(proposal, {
        refund: shown.refund,
        release: shown.release,
        by: shown.by,
        side: shown.side,
        state: shown.state,
        accepted_by: shown.accepted_by,
      });
      known.proposals.set(shown.id, proposal);
    }
    this.refresh(answer.id);
  }

  refresh(disputeId) {
    for (const card of this.log.querySelectorAll(`[data-dispute-card="${Number(disputeId)}"]`)) {
      this.showState(card);
    }
  }

  /** The viewer's part: "buyer", "provider", "mediator" or null. */
  sideOf(dispute) {
    if (this.viewerId === Number(dispute.buyer)) return "buyer";
    if (this.viewerId === Number(dispute.provider)) return "provider";
    if (dispute.mediator != null && this.viewerId === Number(dispute.mediator)) return "mediator";
    return null;
  }

  /** The actions the viewer may take from a card, from what is known of its dispute. */
  actionsFor(card, dispute) {
    const side = this.sideOf(dispute);
    if (!side || !TALKING.has(dispute.stage)) return [];
    const party = side === "buyer" || side === "provider";
    if (card.dataset.disputeRole === "opened") {
      if (party) return ["propose", "escalate"];
      return dispute.stage === "mediation" ? ["propose"] : [];
    }
    if (card.dataset.disputeRole === "proposal" && party) {
      const proposal = dispute.proposals.get(Number(card.dataset.proposal));
      if (!proposal || proposal.state !== "open") return [];
      if (Number(proposal.by) === this.viewerId) return [];
      if (proposal.accepted_by != null && Number(proposal.accepted_by) === this.viewerId) return [];
      return ["accept"];
    }
    return [];
  }

  // -- rendering -------------------------------------------------------------------------------

  /** Turn a rendered dispute event into its card; other messages stay as they are. */
  decorate(article, body, message) {
    const data = message.data ?? {};
    if (message.kind !== "dispute" || data.dispute == null) return;
    const money = (amount) => formatMoney(amount, data.currency);
    const text = element("p", "message__body--plain", message.body ?? "");
    let heading;
    let parts = [];
    if (data.event === "dispute_opened") {
      heading = this.title(article, body, `Dispute ${data.dispute} opened`);
      const rows = [["Disputed, frozen in escrow", money(data.amount)]];
      if (data.invoice != null) rows.push(["Invoice", String(data.invoice)]);
      parts = [definitions(rows), text];
      article.dataset.disputeRole = "opened";
    } else if (data.event === "dispute_proposal") {
      const who = data.side === "mediator" ? "The mediator" : data.side === "buyer" ? "The buyer" : "The provider";
      heading = this.title(article, body, `${who} proposes a settlement`);
      parts = [
        definitions([
          ["Back to the buyer", money(data.refund)],
          ["To the provider", money(data.release)],
        ]),
        text,
      ];
      article.dataset.disputeRole = "proposal";
      article.dataset.proposal = data.proposal;
    } else if (data.event === "dispute_escalated") {
      heading = this.title(article, body, `Dispute ${data.dispute}: ${STAGE_LABELS[data.to] ?? data.to}`);
      parts = [text];
    } else if (data.event in OUTCOME_TITLES) {
      heading = this.title(article, body, OUTCOME_TITLES[data.event]);
      const fee = data.fee ?? 0;
      parts = [
        definitions([
          ["Back to the buyer", money(data.refund)],
          ["Released", money(data.release)],
          ["Platform fee", money(fee)],
          ["The provider receives", money(data.release - fee)],
        ]),
        text,
      ];
    } else {
      heading = this.title(article, body, `Dispute ${data.dispute}`);
      parts = [text];
    }
    article.classList.add("dispute-card");
    // A proposal's card shows the proposal's state; the others, the dispute's stage.
    const status = element("p", "dispute-card__status");
    const tag = element("span", "state-tag");
    tag.dataset.disputeStage = "";
    status.append(article.dataset.disputeRole === "proposal" ? "Proposal: " : "Stage: ", tag);
    body.replaceChildren(heading, status, ...parts, ...this.actionParts(article));
    article.dataset.disputeCard = data.dispute;
    this.showState(article);
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

  actionParts(article) {
    if (!article.dataset.disputeRole) return [];
    const actions = element("div", "invoice-card__actions");
    actions.dataset.disputeActions = "";
    const panel = element("div", "invoice-card__panel");
    panel.dataset.disputePanel = "";
    panel.id = `message-${article.dataset.seq}-dispute-panel`;
    return [actions, panel];
  }

  /** The card's stage, deadline and actions, from what is known of its dispute. */
  showState(card) {
    const dispute = this.disputes.get(Number(card.dataset.disputeCard));
    if (!dispute) return;
    const tag = card.querySelector("[data-dispute-stage]");
    if (tag && card.dataset.disputeRole === "proposal") {
      const state = dispute.proposals.get(Number(card.dataset.proposal))?.state ?? "open";
      tag.textContent = PROPOSAL_LABELS[state] ?? state;
      tag.className = `state-tag state-tag--${state}`;
    } else if (tag) {
      tag.textContent = STAGE_LABELS[dispute.stage] ?? dispute.stage;
      tag.className = `state-tag state-tag--${dispute.stage}`;
    }
    card.dataset.stage = dispute.stage;
    this.showActions(card, this.actionsFor(card, dispute), ACTION_LABELS, "accept");
  }

  // -- action forms ----------------------------------------------------------------------------

  formFor(card, action) {
    const id = Number(card.dataset.disputeCard);
    return this[`${action}Form`](card, id, this.disputes.get(id));
  }

  amountField(card, name, label) {
    const input = element("input");
    input.inputMode = "decimal";
    input.autocomplete = "off";
    return this.field(card, name, label, input);
  }

  proposeForm(card, id, dispute) {
    const total = formatMoney(dispute.amount, dispute.currency);
    const intro = element(
      "p",
      "invoice-action__intro",
      `Split the disputed ${total}: what goes back to the buyer and what is released to the ` +
        "provider must add up to it.",
    );
    const refund = this.amountField(card, "refund", `Back to the buyer (${dispute.currency})`);
    const release = this.amountField(card, "release", `To the provider (${dispute.currency})`);
    const note = element("textarea");
    note.rows = 2;
    note.maxLength = 2000;
    const form = this.actionForm(card, {
      submitText: "Send proposal",
      intro: [intro],
      fields: [refund, release, this.field(card, "note", "Note (optional)", note)],
    });
    this.onSubmit(card, form, `/api/disputes/${id}/proposals/`, () => {
      const errors = {};
      const parts = {};
      for (const name of ["refund", "release"]) {
        const text = form.elements[name].value;
        const minor = text.trim() === "" ? 0 : parseMajor(text, dispute.currency);
        if (minor === null) errors[name] = [`Enter an amount like ${amountExample(dispute.currency)}.`];
        else parts[name] = minor;
      }
      if (Object.keys(errors).length) return { errors };
      if (parts.refund + parts.release !== dispute.amount) {
        const text = `The two must add up to ${total}.`;
        return { errors: { refund: [text], release: [text] } };
      }
      return { refund: parts.refund, release: parts.release, note: note.value.trim() };
    });
    return form;
  }

  acceptForm(card, id, dispute) {
    const proposalId = Number(card.dataset.proposal);
    const proposal = dispute.proposals.get(proposalId);
    const money = (amount) => formatMoney(amount, dispute.currency);
    const both = proposal.side === "mediator" ? " It binds once both parties have accepted it." : "";
    const intro = element(
      "p",
      "invoice-action__intro",
      `${money(proposal.refund)} goes back to the buyer and ${money(proposal.release)} to the ` +
        `provider, less the platform fee. Accepting is final.${both}`,
    );
    const form = this.actionForm(card, { submitText: "Accept proposal", intro: [intro] });
    this.onSubmit(card, form, `/api/disputes/${id}/proposals/${proposalId}/accept/`, () => ({}));
    return form;
  }

  escalateForm(card, id, dispute) {
    const next = dispute.stage === "direct"
      ? "A support mediator joins this conversation and may propose a settlement."
      : "Support staff decide the dispute, and the decision binds both parties.";
    const intro = element("p", "invoice-action__intro", next);
    const form = this.actionForm(card, { submitText: "Escalate", intro: [intro] });
    this.onSubmit(card, form, `/api/disputes/${id}/escalate/`, () => ({}));
    return form;
  }
}
