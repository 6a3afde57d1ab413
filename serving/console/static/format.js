/* Nabız console: how numbers, times and deadlines are written (Turkish style, escaped for HTML).
   Times are the priority policy's, never the browser's zone: the API writes them with the
   policy's offset ("2026-12-07T15:54:00+03:00") and localTime() shows that wall clock. A day
   picked in a date field is the policy zone's day: the zone's IANA name comes in
   <meta name="nabiz-timezone"> (filled by the server, web.py). */
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="nabiz-timezone"]');
  var ZONE = meta && meta.content ? meta.content : "";

  function esc(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function num(n) { return Number(n).toLocaleString("tr-TR"); }
  function pct(v) { return v === null || v === undefined ? "–" : "%" + (100 * v).toFixed(1).replace(".", ","); }
  function fixed(v, d) { return v === null || v === undefined ? "–" : v.toFixed(d).replace(".", ","); }

  // "2026-12-07T15:54:00+03:00" -> "07.12.2026 15:54" (the wall clock of the answer's offset)
  function localTime(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso || "");
    if (!m) return iso ? String(iso) : "–";
    return m[3] + "." + m[2] + "." + m[1] + " " + m[4] + ":" + m[5];
  }

  function countdown(iso) {
    var ms = new Date(iso).getTime() - Date.now();
    var late = ms < 0;
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), mins = minutes % 60;
    var parts = days ? [days + " g", hours + " sa"] : hours ? [hours + " sa", mins + " dk"] : [mins + " dk"];
    return { late: late, text: late ? parts.join(" ") + " gecikti" : parts.join(" ") + " kaldı" };
  }

  // What an item's "Yanıt süresi" shows: nothing counts down once it is resolved (the API's
  // overdue flag is false then), so no red "… gecikti" that keeps growing.
  function due(item) {
    if (item.status === "resolved") return { late: false, done: true, text: "çözüldü" };
    var d = countdown(item.priority.respond_by);
    d.late = d.late || Boolean(item.overdue);
    return d;
  }

  // the "Yanıt süresi" cell (tag: "td" or "span"): the time left, then the deadline itself as a
  // wall clock (a countdown alone says nothing of when); data-due: the queue's timer counts down
  // the first part
  function dueHtml(tag, item) {
    var d = due(item);
    var at = d.done ? "" : ' <small class="at">' + esc(localTime(item.priority.respond_by)) + "</small>";
    return "<" + tag + ' class="due' + (d.late ? " late" : "") + (d.done ? " done" : "") + '"' +
      (d.done ? "" : ' data-due="' + esc(item.priority.respond_by) + '"') + '><span class="left">' + esc(d.text) + "</span>" + at + "</" + tag + ">";
  }

  // minutes east of UTC of ZONE at the instant ms
  function zoneOffset(ms) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: ZONE, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = p.value; });
    var wall = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24, +parts.minute, +parts.second);
    return Math.round((wall - ms) / 60000);
  }
  function offsetText(minutes) {
    var a = Math.abs(minutes);
    return (minutes < 0 ? "-" : "+") + String(Math.floor(a / 60)).padStart(2, "0") + ":" + String(a % 60).padStart(2, "0");
  }

  // "2026-12-07" -> the start of that day in the policy's zone, "2026-12-07T00:00:00+03:00";
  // endOfDay: the start of the next day (the API's ranges are half-open).
  function dayStartIso(date, endOfDay) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date || "");
    if (!m) return "";
    var utc = Date.UTC(+m[1], +m[2] - 1, +m[3] + (endOfDay ? 1 : 0));
    var day = new Date(utc).toISOString().slice(0, 10);
    if (!ZONE) return new Date(day + "T00:00:00").toISOString(); // no zone from the server
    try {
      var offset = zoneOffset(utc);
      offset = zoneOffset(utc - offset * 60000); // the offset at that local midnight
      return day + "T00:00:00" + offsetText(offset);
    } catch (e) {
      return new Date(day + "T00:00:00").toISOString(); // a zone this browser does not know
    }
  }

  window.NabizFormat = {
    zone: ZONE, esc: esc, num: num, pct: pct, fixed: fixed, localTime: localTime,
    countdown: countdown, due: due, dueHtml: dueHtml, dayStartIso: dayStartIso,
  };
})();
