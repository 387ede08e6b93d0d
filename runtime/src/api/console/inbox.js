// The console's inbox, kept live without a reload (built as text, never as
// HTML). On a thread: every 750 ms, asks the host for the messages after the
// last one shown and appends them, and follows who answers now: the status
// line, WhatsApp's window, and which of the take, reply, release and pause
// forms show (each says when, in `data-when`; they stay on the page, with
// their CSRF tokens, hidden or not). On the list: every 2 seconds, asks for
// the rows and rebuilds them when they changed, so a customer who starts
// waiting shows at the top. The host reads the database, so what any node
// stored appears.
(function () {
  "use strict";

  function ask(url) {
    return fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } }).then(function (answer) {
      return answer.ok ? answer.json() : null;
    });
  }

  function every(ms, step) {
    function again() {
      step()
        .catch(function () {})
        .then(function () {
          setTimeout(again, ms);
        });
    }
    setTimeout(again, ms);
  }

  function followThread(thread) {
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

    // Who answers now: the status line, the window, the forms for it.
    function follow(page) {
      if (typeof page.version !== "string" || page.version === thread.dataset.version) {
        return;
      }
      var status = document.getElementById("handling");
      if (status && typeof page.status === "string") {
        status.textContent = page.status;
      }
      var window24 = document.getElementById("window");
      if (window24 && page.window) {
        window24.textContent = page.window.text;
        window24.className = page.window.open ? "ok" : "error";
      }
      var controls = document.getElementById("controls");
      if (controls) {
        controls.querySelectorAll("[data-when]").forEach(function (element) {
          element.hidden = element.dataset.when.split(" ").indexOf(page.answering) < 0;
        });
      }
      thread.dataset.version = page.version;
    }

    every(750, function () {
      return ask(thread.dataset.poll + seq).then(function (page) {
        if (!page) {
          return;
        }
        (page.messages || []).forEach(function (message) {
          if (message.seq > seq) {
            add(message);
            seq = message.seq;
          }
        });
        follow(page);
      });
    });
  }

  function followList(table) {
    var body = table.tBodies[0];
    var empty = document.getElementById("no-conversations");

    function row(item) {
      var line = document.createElement("tr");
      line.className = item.handling;
      var link = document.createElement("a");
      link.href = "/console/inbox/" + encodeURIComponent(item.id);
      link.textContent = item.customer;
      [link, item.channel, item.state, item.last].forEach(function (content) {
        var cell = document.createElement("td");
        if (typeof content === "string") {
          cell.textContent = content;
        } else {
          cell.appendChild(content);
        }
        line.appendChild(cell);
      });
      return line;
    }

    every(2000, function () {
      return ask(table.dataset.poll).then(function (list) {
        if (!list || !Array.isArray(list.rows) || list.version === table.dataset.version) {
          return;
        }
        var rows = document.createDocumentFragment();
        list.rows.forEach(function (item) {
          rows.appendChild(row(item));
        });
        body.replaceChildren(rows);
        table.hidden = list.rows.length === 0;
        if (empty) {
          empty.hidden = list.rows.length > 0;
        }
        table.dataset.version = list.version;
      });
    });
  }

  var thread = document.getElementById("thread");
  if (thread && thread.dataset.poll) {
    followThread(thread);
  }
  var list = document.getElementById("conversations");
  if (list && list.dataset.poll && list.tBodies.length) {
    followList(list);
  }
})();
