// Dates and times in the viewer's own locale and time zone. The server sends RFC 3339.

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });
const dayWithYearFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "long", day: "numeric", month: "long", year: "numeric",
});
const shortDateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const shortDateWithYearFormat = new Intl.DateTimeFormat(undefined, {
  day: "numeric", month: "short", year: "numeric",
});

function pad(number) {
  return String(number).padStart(2, "0");
}

function localDayKey(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function daysAgo(count) {
  const date = new Date();
  date.setDate(date.getDate() - count);
  return localDayKey(date);
}

/** The local calendar day of a timestamp, as "YYYY-MM-DD": the key that groups messages. */
export function dayKey(iso) {
  return localDayKey(new Date(iso));
}

/** "Today", "Yesterday" or a written-out date for a day key. */
export function dayLabel(key) {
  if (key === daysAgo(0)) return "Today";
  if (key === daysAgo(1)) return "Yesterday";
  const [year, month, day] = key.split("-").map(Number);
  const date = new Date(year, month - 1, day);
  return (year === new Date().getFullYear() ? dayFormat : dayWithYearFormat).format(date);
}

export function timeLabel(iso) {
  return timeFormat.format(new Date(iso));
}

export function fullLabel(iso) {
  return fullFormat.format(new Date(iso));
}

/** A compact label for lists: the time today, "Yesterday", else the date. */
export function recentLabel(iso) {
  const date = new Date(iso);
  const key = localDayKey(date);
  if (key === daysAgo(0)) return timeFormat.format(date);
  if (key === daysAgo(1)) return "Yesterday";
  const sameYear = date.getFullYear() === new Date().getFullYear();
  return (sameYear ? shortDateFormat : shortDateWithYearFormat).format(date);
}

/** Fill a <time datetime> element: visible text in local time, the full date as its title. */
export function setTime(element, iso, format = timeLabel) {
  element.dateTime = iso;
  element.textContent = format(iso);
  element.title = fullLabel(iso);
}

/** Rewrite server-rendered <time data-format> elements (UTC fallbacks) into local time. */
export function localizeTimes(root = document) {
  for (const element of root.querySelectorAll("time[datetime][data-format]")) {
    setTime(element, element.dateTime, element.dataset.format === "recent" ? recentLabel : timeLabel);
  }
}
