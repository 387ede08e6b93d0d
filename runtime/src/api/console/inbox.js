// The console's thread: every 2 seconds, asks the host for the messages after
// the last one shown and appends them (as text, never as HTML). The host reads
// the database, so a message any node stored appears.
(function () {
  "use strict";
  var thread = document.getElementById("thread");
  if (!thread || !thread.dataset.poll) {
    return;
  }
  var seq = Number(thread.dataset.seq) || 0;

  function add(message) {
    var item = document.createElement("div");
    item.className = "msg " + (message.side === "inbound" ? "inbound" : "outbound");
    var text = document.createElement("div");
    text.textContent = message.text;
    var meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = message.meta;
    item.appendChild(text);
    item.appendChild(meta);
    thread.appendChild(item);
  }

  function poll() {
    fetch(thread.dataset.poll + seq, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (answer) {
        return answer.ok ? answer.json() : null;
      })
      .then(function (page) {
        if (!page || !page.messages) {
          return;
        }
        page.messages.forEach(function (message) {
          if (message.seq > seq) {
            add(message);
            seq = message.seq;
          }
        });
      })
      .catch(function () {})
      .then(function () {
        setTimeout(poll, 750);
      });
  }

  setTimeout(poll, 750);
})();
