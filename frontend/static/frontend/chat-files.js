// Files in the chat (docs/files.md): file messages with their thumbnails, the sample state,
// download links, the buyer's download receipts for the sender, and sending a file by the
// attach button, drag and drop or paste, with an upload progress bar; a sample shown locked is
// fetched again when an invoice is paid while the page is open.

import { csrfToken } from "./money.js";
import { getJSON } from "./page.js";

const ICONS = {
  "application/pdf": "PDF",
  "application/zip": "ZIP",
  "application/x-7z-compressed": "7Z",
  "application/gzip": "GZ",
  "application/x-tar": "TAR",
  "text/plain": "TXT",
  "image/vnd.adobe.photoshop": "PSD",
  "application/postscript": "EPS",
};

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function sizeText(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

function timeText(iso) {
  return new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

/** A file support hid or removed, or one destroyed at the end of retention: no card. */
function gone(data) {
  return data.hidden || data.redacted || data.shredded;
}

export class FileCards {
  constructor({ root, log, viewerId, conversationId, alerts, present }) {
    this.log = log;
    this.viewerId = viewerId;
    this.alerts = alerts;
    this.present = present;
    this.uploadUrl = `/api/conversations/${conversationId}/files/`;
    this.messagesUrl = `/api/conversations/${conversationId}/messages/`;
    this.refreshTickets = new Map(); // seq -> the number of the latest refresh started
    this.tools = root.querySelector("[data-file-tools]");
    if (this.tools) this.bindComposer(root);
  }

  /** Add the file card to a `file` message; a download receipt to the sender's file. */
  decorate(article, body, message) {
    if (message.kind === "system" && message.data?.event === "file_downloaded") {
      const target = this.log.querySelector(`[data-seq="${Number(message.data.seq)}"]`);
      if (target?.classList.contains("message--mine")) this.receipt(target, message.created_at);
      return;
    }
    const data = message.data ?? {};
    if (message.kind !== "file" || !data.file || gone(data)) return;
    body.after(this.card(message));
    if (message.sender?.id === this.viewerId && data.downloaded_at) {
      this.receipt(article, data.downloaded_at);
    }
  }

  card(message) {
    const data = message.data;
    const mine = message.sender?.id === this.viewerId;
    const locked = data.sample && !data.unlocked && !mine;
    const card = element("figure", "file-card");
    card.dataset.file = data.file;
    // Until paid, a sample's card may change: the buyer's unlocks, the sender's note goes.
    if (data.sample && !data.unlocked) card.dataset.unpaidSample = "";
    if (data.thumbnail) {
      const image = element("img", "file-card__thumbnail");
      image.src = data.thumbnail;
      image.alt = locked ? `Watermarked preview of ${data.name}` : `Preview of ${data.name}`;
      image.loading = "lazy";
      if (data.preview) {
        const link = element("a", "file-card__preview-link");
        link.href = data.preview;
        link.target = "_blank";
        link.rel = "noopener";
        link.append(image);
        card.append(link);
      } else {
        card.append(image);
      }
    } else {
      card.append(element("span", "file-card__icon", ICONS[data.content_type] ?? "FILE"));
    }
    const caption = element("figcaption", "file-card__caption");
    caption.append(element("span", "file-card__name", data.name ?? "file"));
    caption.append(element("span", "file-card__size muted", ` · ${sizeText(data.size ?? 0)}`));
    card.append(caption);
    if (locked) {
      card.append(
        element("p", "file-card__locked", "Preview — the original unlocks when the invoice is paid"),
      );
    } else {
      const download = element("button", "button button--small", `Download ${data.name}`);
      download.type = "button";
      download.addEventListener("click", () => this.download(data.file, download));
      card.append(download);
    }
    if (mine && data.sample && !data.unlocked) {
      card.append(
        element(
          "p",
          "file-card__note muted",
          "Sample: the buyer sees a watermarked preview until an invoice raised after it is paid.",
        ),
      );
    }
    return card;
  }

  // -- samples unlocked while the page is open -------------------------------------------------

  /**
   * An event that came after the page's history: when an invoice is paid, the server may now
   * count samples shown here as unpaid as covered. Which ones it covers is the server's rule
   * (docs/files.md), so ask it again for each such sample older than the payment rather than
   * guess here.
   */
  live(message) {
    if (message.kind !== "payment" || message.data?.event !== "invoice_paid") return;
    for (const card of this.log.querySelectorAll(".file-card[data-unpaid-sample]")) {
      const article = card.closest("[data-seq]");
      if (article && Number(article.dataset.seq) < message.seq) this.refresh(article);
    }
  }

  /** Fetch one file message again and redraw its card; busy (aria-busy) meanwhile. */
  async refresh(article) {
    const seq = Number(article.dataset.seq);
    // Two payments close together start two refreshes: only the last one started may draw,
    // as an earlier answer can be older than a later one.
    const ticket = (this.refreshTickets.get(seq) ?? 0) + 1;
    this.refreshTickets.set(seq, ticket);
    article.setAttribute("aria-busy", "true");
    try {
      const [message] = await getJSON(`${this.messagesUrl}?after=${seq - 1}&limit=1`);
      if (this.refreshTickets.get(seq) === ticket && message?.seq === seq) {
        this.redraw(article, message);
      }
    } catch (error) {
      this.alerts.show(`A paid sample could not be updated (${error.message}): reload the page.`);
    } finally {
      if (this.refreshTickets.get(seq) === ticket) {
        this.refreshTickets.delete(seq);
        article.removeAttribute("aria-busy");
      }
    }
  }

  redraw(article, message) {
    const old = article.querySelector(".file-card");
    if (!old || message.kind !== "file" || !message.data?.file || gone(message.data)) return;
    const fresh = this.card(message);
    const hadFocus = old.contains(document.activeElement);
    old.replaceWith(fresh);
    if (message.sender?.id === this.viewerId && message.data.downloaded_at) {
      this.receipt(article, message.data.downloaded_at);
    }
    // Someone reading the card with the keyboard stays on it.
    if (hadFocus) fresh.querySelector("a, button")?.focus();
  }

  receipt(article, at) {
    if (article.querySelector(".file-card__receipt")) return;
    const card = article.querySelector(".file-card") ?? article;
    card.append(element("p", "file-card__receipt", `Downloaded by the buyer at ${timeText(at)}`));
  }

  async download(fileId, control) {
    control.disabled = true;
    try {
      const link = await getJSON(`/api/files/${fileId}/link/`);
      const anchor = element("a");
      anchor.href = link.url;
      anchor.download = "";
      anchor.hidden = true;
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
    } catch (error) {
      this.alerts.show(`The file could not be downloaded: ${error.message}`);
    } finally {
      control.disabled = false;
    }
  }

  // -- sending ---------------------------------------------------------------------------------

  bindComposer(root) {
    this.input = this.tools.querySelector("[data-file-input]");
    this.sample = this.tools.querySelector("[data-file-sample]");
    this.progress = this.tools.querySelector("[data-file-progress]");
    this.status = this.tools.querySelector("[data-file-status]");
    this.tools.querySelector("[data-file-attach]").addEventListener("click", () => this.input.click());
    this.input.addEventListener("change", () => {
      for (const file of this.input.files) this.send(file);
      this.input.value = "";
    });
    const dropZone = root.querySelector("[data-timeline]") ?? root;
    dropZone.addEventListener("dragover", (event) => {
      if ([...(event.dataTransfer?.types ?? [])].includes("Files")) {
        event.preventDefault();
        dropZone.classList.add("timeline--drop");
      }
    });
    dropZone.addEventListener("dragleave", () => dropZone.classList.remove("timeline--drop"));
    dropZone.addEventListener("drop", (event) => {
      dropZone.classList.remove("timeline--drop");
      if (!event.dataTransfer?.files?.length) return;
      event.preventDefault();
      for (const file of event.dataTransfer.files) this.send(file);
    });
    root.querySelector("[data-composer] textarea")?.addEventListener("paste", (event) => {
      const pasted = [...(event.clipboardData?.files ?? [])];
      if (!pasted.length) return;
      event.preventDefault();
      for (const file of pasted) this.send(file);
    });
  }

  /** Upload one file with XMLHttpRequest, for its progress events. */
  send(file) {
    const form = new FormData();
    form.append("file", file, file.name || "pasted");
    form.append("sample", this.sample?.checked ? "true" : "false");
    const request = new XMLHttpRequest();
    request.open("POST", this.uploadUrl);
    request.setRequestHeader("X-CSRFToken", csrfToken());
    request.setRequestHeader("Accept", "application/json");
    request.responseType = "json";
    this.progress.hidden = false;
    this.progress.value = 0;
    this.status.textContent = `Uploading ${file.name || "the pasted file"}…`;
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) this.progress.value = Math.round((100 * event.loaded) / event.total);
    });
    request.addEventListener("load", () => {
      this.progress.hidden = true;
      if (request.status === 201) {
        this.status.textContent = `Sent ${file.name || "the pasted file"}.`;
        if (this.sample) this.sample.checked = false;
        this.present(request.response);
        return;
      }
      this.status.textContent = "";
      const problem = request.response?.error?.message ?? `The upload failed (${request.status}).`;
      this.alerts.show(problem);
    });
    request.addEventListener("error", () => {
      this.progress.hidden = true;
      this.status.textContent = "";
      this.alerts.show("The upload failed. Check your connection and try again.");
    });
    request.send(form);
  }
}
