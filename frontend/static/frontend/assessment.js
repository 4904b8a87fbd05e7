// The countdown of a running skills assessment. The server keeps the time: this only shows
// how much is left until the deadline it set, and says so when it is over.

const element = document.getElementById("assessment-countdown");
const shown = element?.querySelector("[data-countdown]");
const announcer = document.getElementById("assessment-time-alert");
const form = document.getElementById("assessment-form");

function format(seconds) {
  const minutes = Math.floor(seconds / 60);
  const rest = String(seconds % 60).padStart(2, "0");
  return `${minutes}:${rest}`;
}

if (element && shown) {
  const deadline = Date.parse(element.dataset.deadline);
  let warned = false;
  const tick = () => {
    const left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
    shown.textContent = format(left);
    if (left <= 60 && !warned && left > 0) {
      warned = true;
      announcer.textContent = "One minute left.";
    }
    if (left === 0) {
      clearInterval(timer);
      shown.textContent = "0:00";
      announcer.textContent = "Time is up: answers can no longer be sent.";
      form?.querySelector("button[type=submit]")?.setAttribute("disabled", "");
    }
  };
  const timer = setInterval(tick, 1000);
  tick();
}
