// What every live page shares: the connection status, the alert area, JSON reads.

const STATUS_TEXT = {
  connecting: "",
  open: "",
  reconnecting: "Reconnecting…",
  closed: "Disconnected.",
};

const CLOSE_TEXT = {
  4401: "Your session has ended.",
  4403: "This account has been banned and can no longer use the chat.",
};

/** Show the socket's state in the page's role="status" element; empty while all is well. */
export function bindConnectionStatus(socket, element) {
  socket.addEventListener("status", ({ detail }) => {
    element.textContent = STATUS_TEXT[detail.state] ?? "";
  });
}

export class Alerts {
  constructor(element) {
    this.element = element;
  }

  show(text, { link } = {}) {
    const message = document.createElement("p");
    message.className = "alerts__text";
    message.textContent = text;
    if (link) {
      const anchor = document.createElement("a");
      anchor.href = link.href;
      anchor.textContent = link.text;
      message.append(" ", anchor);
    }
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "button button--quiet alerts__dismiss";
    dismiss.textContent = "Dismiss";
    dismiss.addEventListener("click", () => this.clear());
    this.element.replaceChildren(message, dismiss);
  }

  clear() {
    this.element.replaceChildren();
  }
}

/** Tell the user why the socket gave up for good (signed out elsewhere, banned). */
export function bindSocketClosed(socket, alerts) {
  socket.addEventListener("closed", ({ detail }) => {
    const text = CLOSE_TEXT[detail.code] ?? "The connection was closed.";
    alerts.show(text, detail.code === 4401 ? { link: { href: "/", text: "Sign in again" } } : {});
  });
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function getJSON(url) {
  const response = await fetch(url, {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = body?.error ?? {};
    throw new ApiError(
      response.status,
      error.code ?? "http_error",
      error.message ?? `The server answered ${response.status}.`,
    );
  }
  return body;
}
