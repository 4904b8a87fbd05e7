// Signed checkpoints kept on this device (docs/evidence.md): the server pushes the latest one
// with `subscribed` and in `checkpoint` frames; the client keeps the newest per conversation,
// so a server that later rewrote its history would contradict what the parties hold. The
// evidence page compares the one this device holds with the server's record.

import { getJSON } from "./page.js";

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

// -- the evidence page: what this device holds, against what the server's record says now ------

const HEX64 = /^[0-9a-f]{64}$/;

function isCheckpoint(checkpoint, conversationId) {
  return (
    checkpoint?.conversation === conversationId &&
    Number.isInteger(checkpoint.seq) &&
    checkpoint.seq >= 1 &&
    typeof checkpoint.head === "string" &&
    HEX64.test(checkpoint.head) &&
    typeof checkpoint.key_id === "string"
  );
}

function short(hash) {
  return `${hash.slice(0, 16)}…`;
}

/**
 * The hash of the server's event at `seq` as its record holds it now, or null when it has no
 * such event. The page carries it for every seq the server signed; a seq it no longer signs is
 * asked of the messages API, which carries each event's hash.
 */
async function serverHashAt(conversationId, seq, record) {
  const signed = record.signed.find((event) => event.seq === seq);
  if (signed) return signed.hash;
  const url = `/api/conversations/${conversationId}/messages/?after=${seq - 1}&limit=1`;
  const [event] = await getJSON(url);
  return event?.seq === seq ? event.hash : null;
}

/** The verdict on the device's checkpoint: [warning?, text]. */
function comparison(checkpoint, serverHash, chain) {
  const { seq, head } = checkpoint;
  const differs = `The record on the server differs from the checkpoint this device holds at seq ${seq}`;
  if (serverHash === null) return [true, `${differs}: the server has no event ${seq}.`];
  if (serverHash !== head) {
    return [
      true,
      `${differs}: this device holds head ${short(head)}, the server's event ${seq} has hash ${short(serverHash)}.`,
    ];
  }
  // The same hash, but the server's own check found events up to seq that do not recompute
  // to it: the stored hash no longer describes what the record says.
  if (!chain.ok && chain.first_bad_seq !== null && chain.first_bad_seq <= seq) {
    return [
      true,
      `${differs}: its events up to seq ${seq} no longer recompute to the head this device holds (the chain breaks at seq ${chain.first_bad_seq}).`,
    ];
  }
  if (!chain.ok) {
    return [
      true,
      `The server's record agrees with the checkpoint this device holds at seq ${seq}, but the chain breaks after it, at seq ${chain.first_bad_seq}.`,
    ];
  }
  return [
    false,
    `The server's record extends the checkpoint this device holds at seq ${seq}: its event ${seq} has the same hash (${short(head)}), and the chain holds from there to its last event.`,
  ];
}

function showComparison(output, warning, text) {
  output.textContent = text;
  output.className = warning ? "evidence__comparison alerts" : "evidence__comparison notice";
  output.setAttribute("role", warning ? "alert" : "status");
  output.hidden = false;
}

async function compareWithServer(checkpoint, conversationId, output) {
  const record = JSON.parse(document.getElementById("evidence-record").textContent);
  let serverHash;
  try {
    serverHash = await serverHashAt(conversationId, checkpoint.seq, record);
  } catch (error) {
    showComparison(
      output,
      true,
      `The server's event at seq ${checkpoint.seq} could not be read to compare: ${error.message}`,
    );
    return;
  }
  showComparison(output, ...comparison(checkpoint, serverHash, record.chain));
}

function showHeldCheckpoint(held) {
  const conversationId = held.dataset.conversation;
  const checkpoint = storedCheckpoint(conversationId);
  if (!checkpoint) {
    held.textContent = "This device holds no checkpoint of this conversation yet.";
    return;
  }
  if (!isCheckpoint(checkpoint, conversationId)) {
    held.textContent = "The checkpoint this device holds for this conversation cannot be read.";
    return;
  }
  held.textContent = `This device holds a checkpoint of seq ${checkpoint.seq} (head ${short(checkpoint.head)}, key ${checkpoint.key_id}).`;
  const output = document.querySelector("[data-checkpoint-comparison]");
  if (output) compareWithServer(checkpoint, conversationId, output);
}

const held = document.querySelector("[data-held-checkpoint]");
if (held) showHeldCheckpoint(held);
