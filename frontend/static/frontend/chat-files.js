// Files in the chat (docs/files.md): file messages with their thumbnails, the sample state,
// download links, the buyer's download receipts for the sender, and sending a file by the
// attach button, drag and drop or paste, with an upload progress bar.

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

export class FileCards {
  constructor({ root, log, viewerId, conversationId, alerts, present }) {
    this.log = log;
    this.viewerId = viewerId;
    this.alerts = alerts;
    this.present = present;
    this.uploadUrl = `/api/conversations/${conversationId}/files/`;
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
    if (message.kind !== "file" || !data.file || data.hidden) return;
    const mine = message.sender?.id === this.viewerId;
    const locked = data.sample && !data.unlocked && !mine;
    const card = element("figure", "file-card");
    card.dataset.file = data.file;
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
    body.after(card);
    if (mine && data.downloaded_at) this.receipt(article, data.downloaded_at);
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
