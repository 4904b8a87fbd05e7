// Signed checkpoints kept on this device (docs/evidence.md): the server pushes the latest one
// with `subscribed` and in `checkpoint` frames; the client keeps the newest per conversation,
// so a server that later rewrote its history would contradict what the parties hold.

const PREFIX = "chatbox.checkpoint.";

export function storedCheckpoint(conversationId) {
  try {
    return JSON.parse(localStorage.getItem(PREFIX + conversationId) ?? "null");
  } catch {
    return null;
  }
}

export function keepCheckpoint(checkpoint) {
  if (!checkpoint || typeof checkpoint.conversation !== "string") return;
  const held = storedCheckpoint(checkpoint.conversation);
  if (held && held.seq > checkpoint.seq) return; // never move back
  try {
    localStorage.setItem(PREFIX + checkpoint.conversation, JSON.stringify(checkpoint));
  } catch {
    // Storage full or refused (private mode): the server still holds every checkpoint.
  }
}

export function keepCheckpoints(socket) {
  for (const type of ["subscribed", "checkpoint"]) {
    socket.addEventListener(type, (event) => keepCheckpoint(event.detail.checkpoint));
  }
}

// The evidence page shows what this device holds beside what the server says.
const held = document.querySelector("[data-held-checkpoint]");
if (held) {
  const checkpoint = storedCheckpoint(held.dataset.conversation);
  held.textContent = checkpoint
    ? `This device holds a checkpoint of seq ${checkpoint.seq} (head ${checkpoint.head.slice(0, 16)}…, key ${checkpoint.key_id}).`
    : "This device holds no checkpoint of this conversation yet.";
}
