// Money in the web app: amounts in minor units shown in major units with their currency, typed
// amounts read back into minor units (no floats), and money requests with an Idempotency-Key.

// As projects/money.py: currencies without a minor unit, and those with three decimals.
const NO_MINOR_UNIT = new Set(
  "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split(" "),
);
const THREE_DECIMALS = new Set("BHD IQD JOD KWD LYD OMR TND".split(" "));

export function minorDigits(currency) {
  if (NO_MINOR_UNIT.has(currency)) return 0;
  if (THREE_DECIMALS.has(currency)) return 3;
  return 2;
}

/** 4500, "EUR" → "45.00 EUR", as the server's format_amount writes it. */
export function formatMoney(minor, currency) {
  const digits = minorDigits(currency);
  const negative = minor < 0;
  const text = String(Math.abs(Math.trunc(Number(minor)))).padStart(digits + 1, "0");
  const whole = text.slice(0, text.length - digits).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = digits ? `.${text.slice(text.length - digits)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction} ${currency}`;
}

/** "45.5", "EUR" → 4550; null when the text is no amount of that currency. */
export function parseMajor(text, currency) {
  const digits = minorDigits(currency);
  const cleaned = String(text).trim().replaceAll(",", "");
  const match = /^(\d+)(?:\.(\d*))?$/.exec(cleaned) ?? /^()\.(\d+)$/.exec(cleaned);
  if (!match) return null;
  const [, whole, fraction = ""] = match;
  const significant = fraction.replace(/0+$/, "");
  if (significant.length > digits) return null;
  const minor = Number(`${whole || "0"}${significant.padEnd(digits, "0")}`);
  return Number.isSafeInteger(minor) ? minor : null;
}

/** An example amount for error texts: "450.00" in EUR, "450" in JPY. */
export function amountExample(currency) {
  const digits = minorDigits(currency);
  return digits ? `450.${"0".repeat(digits)}` : "450";
}

export function csrfToken() {
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (field) return field.value;
  const cookie = document.cookie.split("; ").find((pair) => pair.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
}

/** What the page knows of the conversation's money (#money-state, from the server). */
export function readMoneyState() {
  const script = document.getElementById("money-state");
  return script ? JSON.parse(script.textContent) : { role: null, contract: null };
}

export class MoneyError extends Error {
  constructor(status, code, message, fields = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields ?? {};
  }
}

const NETWORK_TEXT =
  "The request did not reach the server, or its answer did not come back. " +
  "Check your connection and send it again: it will not be done twice.";

/**
 * One money form's requests. A submission gets a new Idempotency-Key (a UUID); sending the
 * same submission again after it got no answer (a network failure, a server error, or "still
 * running") reuses its key, so the server does the work once. Once the server has answered,
 * the next submission is a new request with a new key.
 */
export class MoneyRequest {
  #key = null;
  #body = null;

  async post(url, body) {
    const text = JSON.stringify(body);
    if (this.#key === null || this.#body !== text) {
      this.#key = crypto.randomUUID();
      this.#body = text;
    }
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          "Idempotency-Key": this.#key,
          "X-CSRFToken": csrfToken(),
        },
        body: text,
      });
    } catch {
      throw new MoneyError(0, "network", NETWORK_TEXT);
    }
    const answer = await response.json().catch(() => null);
    const error = answer?.error;
    const unanswered = response.status >= 500 || error?.code === "idempotency_in_progress";
    if (!unanswered) {
      this.#key = null;
      this.#body = null;
    }
    if (!response.ok) {
      throw new MoneyError(
        response.status,
        error?.code ?? "http_error",
        unanswered ? NETWORK_TEXT : (error?.message ?? `The server answered ${response.status}.`),
        error?.fields,
      );
    }
    return answer;
  }
}

/** The messages of an error's field, flattened to lines of text. */
export function fieldLines(value) {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((item) => (typeof item === "string" ? [item] : []));
  if (typeof value === "string") return [value];
  return [];
}

/** Show (or clear, with no lines) the error of a field: text, aria-invalid, aria-describedby. */
export function showFieldError(field, errorElement, lines) {
  const text = lines.join(" ");
  errorElement.textContent = text;
  errorElement.hidden = !text;
  const described = new Set((field.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean));
  if (text) {
    field.setAttribute("aria-invalid", "true");
    described.add(errorElement.id);
  } else {
    field.removeAttribute("aria-invalid");
    described.delete(errorElement.id);
  }
  if (described.size) field.setAttribute("aria-describedby", [...described].join(" "));
  else field.removeAttribute("aria-describedby");
}
