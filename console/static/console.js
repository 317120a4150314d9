// newswatch console: keep the first page of the list live. The server renders every row (escaped there); this
// script only asks for the rows again, with the page's own filters, when the event stream says something changed.
"use strict";
(function () {
  const table = document.getElementById("alerts");
  if (!table || table.dataset.live !== "on" || !window.EventSource) return;
  const live = document.getElementById("live");
  const total = document.getElementById("total");
  let pending = false;

  async function refresh() {
    if (pending) return;
    pending = true;
    try {
      const response = await fetch("/rows" + window.location.search, { credentials: "same-origin" });
      if (!response.ok) return;
      const html = await response.text();
      const fresh = new DOMParser().parseFromString("<table>" + html + "</table>", "text/html").getElementById("rows");
      const rows = document.getElementById("rows");
      if (fresh && rows) {
        rows.replaceWith(document.importNode(fresh, true));
        if (total) total.textContent = fresh.dataset.total;
      }
    } finally {
      pending = false;
    }
  }

  const stream = new EventSource("/events");
  // On every (re)connection ask for the rows once: changes made while the stream was down sent no event.
  stream.addEventListener("open", function () { if (live) live.hidden = false; refresh(); });
  stream.addEventListener("error", function () { if (live) live.hidden = true; });
  stream.addEventListener("change", refresh);
})();
