// The inbox: local times, and unread counts and order kept live over the chat socket.

import { ChatSocket } from "./chat-socket.js";
import { localizeTimes, recentLabel, setTime } from "./format.js";
import { Alerts, bindConnectionStatus, bindSocketClosed } from "./page.js";

// Kinds that count as unread, as the server counts them: what someone said or did.
const UNREAD_KINDS = new Set(["text", "file", "invoice", "payment", "dispute"]);

localizeTimes();

const list = document.querySelector("[data-inbox]");
const viewerId = Number(document.body.dataset.viewerId);

function showUnread(item, count) {
  const badge = item.querySelector("[data-unread]");
  badge.dataset.unread = String(count);
  badge.textContent = count ? `${count} unread` : "";
  item.classList.toggle("inbox-item--unread", count > 0);
}

function showActivity(item, message) {
  let time = item.querySelector(".inbox-item__time");
  if (time.tagName !== "TIME") {
    const replacement = document.createElement("time");
    replacement.className = "inbox-item__time";
    time.replaceWith(replacement);
    time = replacement;
  }
  setTime(time, message.created_at, recentLabel);
  list.prepend(item); // most recently active first, as the server orders them
}

if (list) {
  const items = new Map(
    [...list.querySelectorAll("[data-conversation-id]")].map((item) => [
      item.dataset.conversationId,
      item,
    ]),
  );
  const socket = new ChatSocket();
  window.chatboxSocket = socket;
  const alerts = new Alerts(document.querySelector("[data-alerts]"));
  bindConnectionStatus(socket, document.querySelector("[data-connection-status]"));
  bindSocketClosed(socket, alerts);

  socket.addEventListener("message", ({ detail: message }) => {
    const item = items.get(message.conversation);
    if (!item) return;
    item.dataset.head = String(message.seq);
    showActivity(item, message);
    if (UNREAD_KINDS.has(message.kind) && message.sender?.id !== viewerId) {
      showUnread(item, Number(item.querySelector("[data-unread]").dataset.unread) + 1);
    }
  });
  // The viewer read on in another tab.
  socket.addEventListener("read", ({ detail: frame }) => {
    const item = items.get(frame.conversation);
    if (item && frame.user?.id === viewerId && frame.seq >= Number(item.dataset.head)) {
      showUnread(item, 0);
    }
  });

  // Subscribing after the head replays nothing: only what happens from now on arrives.
  for (const [conversation, item] of items) {
    socket.subscribe(conversation, { after: Number(item.dataset.head) });
  }
  socket.connect();
}
