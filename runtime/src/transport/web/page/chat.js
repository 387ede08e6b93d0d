// Bottega web chat: one page, one WebSocket (protocol: runtime/src/transport/web/protocol.rs).
//
// The page keeps the session token in localStorage and the number of the last
// message it shows (the cursor). On reconnect it says both, gets what it
// missed, and sends again any message the host has not yet confirmed (same
// id: the host answers it once). Everything shown is built with textContent:
// nothing from the shop or the customer is ever parsed as HTML.
"use strict";

(() => {
  const app = document.getElementById("app");
  const business = app.dataset.business;
  const tokenKey = `bottega.webchat.${business}.token`;
  const $ = (id) => document.getElementById(id);

  const state = {
    // This page's session token: read once, so another tab saving its own
    // token never moves this page into that tab's conversation.
    token: localStorage.getItem(tokenKey),
    socket: null,
    cursor: 0,
    // Sent and not yet seen in the conversation: {id, message, el, accepted}.
    pending: [],
    locked: false,
    lock: { has_password: false, auto_lock_minutes: null },
    retries: 0,
    idleTimer: null,
    lastActiveSent: 0,
  };

  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`);

  function status(text) {
    $("status").textContent = text;
  }

  function send(frame) {
    if (state.socket && state.socket.readyState === WebSocket.OPEN) {
      state.socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/chat/${encodeURIComponent(business)}/ws`);
    state.socket = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify({
        type: "hello",
        token: state.token,
        after: state.cursor,
        locale: navigator.language,
      }));
    };
    socket.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      onFrame(frame);
    };
    socket.onclose = () => {
      if (state.socket !== socket) return;
      state.socket = null;
      status("Reconnecting…");
      const wait = Math.min(10000, 300 * 2 ** state.retries);
      state.retries += 1;
      setTimeout(connect, wait);
    };
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "session":
        state.token = frame.token;
        localStorage.setItem(tokenKey, frame.token);
        state.cursor = 0;
        clearMessages();
        break;
      case "ready":
        state.retries = 0;
        state.lock = frame.lock;
        status("Online");
        showLockSettings();
        if (frame.locked) {
          showLocked();
        } else {
          showChat();
          for (const p of state.pending) send({ type: "send", id: p.id, message: p.message });
        }
        break;
      case "message":
        showMessage(frame.message);
        break;
      case "accepted": {
        const p = state.pending.find((p) => p.id === frame.id);
        if (p) p.accepted = true;
        break;
      }
      case "locked":
        showLocked();
        break;
      case "unlocked":
        state.lock = frame.lock;
        $("unlock-password").value = "";
        $("unlock-error").textContent = "";
        showChat();
        break;
      case "lock_set":
        state.lock = frame.lock;
        $("new-password").value = "";
        $("new-password-again").value = "";
        $("set-lock-error").textContent = "";
        $("settings").hidden = true;
        showLockSettings();
        armIdleTimer();
        break;
      case "signed_out":
        // Forget the token unless another tab has saved a newer one.
        if (localStorage.getItem(tokenKey) === state.token) localStorage.removeItem(tokenKey);
        state.token = null;
        state.pending = [];
        state.cursor = 0;
        clearMessages();
        // The host closes the socket; the reconnect opens a new session.
        break;
      case "error":
        onError(frame);
        break;
    }
  }

  function onError(frame) {
    if (frame.code === "wrong_password" || frame.code === "too_many_attempts") {
      const wait = frame.retry_after_seconds ? ` Try again in ${frame.retry_after_seconds} s.` : "";
      $("unlock-error").textContent = frame.message + wait;
    } else if (frame.code === "weak_lock" || frame.code === "no_password") {
      $("set-lock-error").textContent = frame.message;
    } else if (frame.id) {
      const i = state.pending.findIndex((p) => p.id === frame.id);
      if (i >= 0) {
        const [p] = state.pending.splice(i, 1);
        p.el.classList.remove("pending");
        p.el.classList.add("failed");
        p.el.title = frame.message;
        p.el.append(Object.assign(document.createElement("small"), { className: "error", textContent: ` (not sent: ${frame.message})` }));
      }
    } else {
      status(frame.message);
    }
  }

  // --- Showing the conversation ---------------------------------------------------

  function clearMessages() {
    $("messages").replaceChildren();
  }

  function showChat() {
    state.locked = false;
    $("lock-screen").hidden = true;
    $("chat").hidden = false;
    armIdleTimer();
  }

  function showLocked() {
    state.locked = true;
    state.cursor = 0;
    clearMessages();
    $("settings").hidden = true;
    $("chat").hidden = true;
    $("lock-screen").hidden = false;
    clearTimeout(state.idleTimer);
    $("unlock-password").focus();
  }

  function showLockSettings() {
    $("lock-settings").hidden = false;
    const { has_password, auto_lock_minutes } = state.lock;
    $("lock-summary").textContent = has_password
      ? auto_lock_minutes
        ? `Locked with a password; locks itself after ${auto_lock_minutes} idle minute${auto_lock_minutes === 1 ? "" : "s"}.`
        : "Locked with a password when you choose “Lock now”."
      : "No password: anyone using this browser can read this chat.";
    $("lock-now").hidden = !has_password;
    $("remove-lock").hidden = !has_password;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function showMessage(message) {
    // While locked (here or by the host) nothing is shown; unlocking brings it all.
    if (state.locked || message.seq <= state.cursor) return;
    state.cursor = message.seq;
    if (message.direction === "inbound") {
      // Our own message came back from the conversation: drop the placeholder
      // of the oldest one the host confirmed. Unconfirmed ones stay pending
      // (and are sent again on reconnect).
      const i = state.pending.findIndex((p) => p.accepted);
      if (i >= 0) state.pending.splice(i, 1)[0].el.remove();
    }
    const item = render(message.body, message.direction, message.author);
    item.dataset.seq = message.seq;
    item.dataset.author = message.author;
    $("messages").append(item);
    item.scrollIntoView({ block: "end" });
  }

  function render(body, direction, author) {
    const item = el("li", `msg ${direction} ${body.type}`);
    if (direction === "outbound" && author === "agent") {
      item.append(el("span", "author", body.agent ? `${body.agent} (team)` : "Team"));
    }
    switch (body.type) {
      case "text":
        item.append(el("span", "text", body.text));
        break;
      case "choice":
        item.append(el("span", "text", body.title));
        break;
      case "product_tap":
        item.append(el("span", "text", "Chose a product"));
        break;
      case "browse":
        item.append(el("span", "text", body.query ? `Searched for “${body.query}”` : "Opened the catalog"));
        break;
      case "cart":
        item.append(el("span", "text", `Sent a cart (${body.items.length} item${body.items.length === 1 ? "" : "s"})`));
        break;
      case "buttons": {
        item.append(el("span", "text", body.body));
        const row = el("div", "button-row");
        for (const b of body.buttons) row.append(choiceButton(b.id, b.title));
        item.append(row);
        break;
      }
      case "list": {
        item.append(el("span", "text", body.body));
        const rows = el("div", "row-list");
        rows.hidden = true;
        const open = el("button", "open-list", body.button_label);
        open.type = "button";
        open.onclick = () => { rows.hidden = !rows.hidden; };
        for (const r of body.rows) {
          const b = choiceButton(r.id, r.title);
          if (r.description) b.append(el("small", null, r.description));
          rows.append(b);
        }
        const opener = el("div", "button-row");
        opener.append(open);
        item.append(opener, rows);
        break;
      }
      case "product":
        item.append(cards([body.product]));
        break;
      case "product_list":
        if (body.header) item.append(el("strong", "header", body.header));
        if (body.body) item.append(el("span", "text", body.body));
        item.append(cards(body.products));
        break;
      case "cart_summary":
        item.append(el("strong", null, "Your cart"));
        item.append(cartTable(body.cart));
        break;
      case "checkout": {
        item.append(el("strong", null, `Order #${body.order.number}`));
        item.append(cartTable(body.cart));
        const pay = el("a", "pay", `Pay ${body.order.total.formatted}`);
        pay.href = body.order.payment_url;
        pay.target = "_blank";
        pay.rel = "noopener";
        item.append(pay);
        break;
      }
      case "handoff_requested":
        item.className = "msg notice";
        item.append(el("span", "text", "A member of the team will join this chat."));
        break;
      default:
        item.className = `msg ${direction} notice`;
        item.append(el("span", "text", `(${body.type})`));
    }
    return item;
  }

  function choiceButton(id, title) {
    const b = el("button", "choice", title);
    b.type = "button";
    b.dataset.id = id;
    b.onclick = () => sendMessage({ kind: "choice", id, title }, title);
    return b;
  }

  function cards(products) {
    const list = el("div", "card-row");
    for (const p of products) {
      const card = el("div", "card");
      card.dataset.product = p.id;
      if (p.photo_url) {
        const img = el("img");
        img.src = p.photo_url;
        img.alt = p.name;
        img.loading = "lazy";
        // A photo that cannot be loaded becomes a tile with the name's initial.
        img.onerror = () => img.replaceWith(el("div", "no-photo", p.name.slice(0, 1).toUpperCase()));
        card.append(img);
      }
      card.append(el("span", "name", p.name));
      card.append(el("span", "price", p.price.formatted));
      if (!p.in_stock) card.append(el("span", "out", "Out of stock"));
      const choose = el("button", "product-tap", "Choose");
      choose.type = "button";
      choose.onclick = () => sendMessage({ kind: "product_tap", product_id: p.id }, p.name);
      card.append(choose);
      list.append(card);
    }
    return list;
  }

  function cartTable(cart) {
    const table = el("table", "cart");
    for (const line of cart.lines) {
      const tr = el("tr");
      tr.append(el("td", null, `${line.quantity} × ${line.name}`), el("td", "num", line.line_total.formatted));
      table.append(tr);
    }
    for (const d of cart.discounts) {
      const tr = el("tr", "discount");
      tr.append(el("td", null, d.label), el("td", "num", `−${d.amount.formatted}`));
      table.append(tr);
    }
    const total = el("tr", "total");
    total.append(el("td", null, "Total"), el("td", "num", cart.total.formatted));
    table.append(total);
    return table;
  }

  // --- Sending ------------------------------------------------------------------

  function sendMessage(message, shown) {
    if (state.locked) return;
    const id = newId();
    const item = el("li", "msg inbound pending");
    item.append(el("span", "text", shown));
    $("messages").append(item);
    item.scrollIntoView({ block: "end" });
    state.pending.push({ id, message, el: item, accepted: false });
    send({ type: "send", id, message });
    activity();
  }

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    $("text").value = "";
    sendMessage({ kind: "text", text }, text);
  });

  $("browse").onclick = () => sendMessage({ kind: "browse", query: null, section: null }, "Opened the catalog");

  // --- The lock -------------------------------------------------------------------

  $("lock-settings").onclick = () => {
    if (!state.locked) $("settings").hidden = !$("settings").hidden;
  };
  $("close-settings").onclick = () => { $("settings").hidden = true; };

  $("set-lock-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const password = $("new-password").value;
    if (password !== $("new-password-again").value) {
      $("set-lock-error").textContent = "The two passwords differ.";
      return;
    }
    const minutes = $("auto-lock").value;
    send({ type: "set_lock", password, auto_lock_minutes: minutes ? Number(minutes) : null });
  });
  $("lock-now").onclick = () => send({ type: "lock" });
  $("remove-lock").onclick = () => send({ type: "set_lock", password: null, auto_lock_minutes: null });

  $("unlock-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("unlock-error").textContent = "";
    send({ type: "unlock", password: $("unlock-password").value });
  });
  $("sign-out").onclick = () => {
    if (confirm("Sign out? This conversation will stay locked and a new chat starts.")) {
      send({ type: "sign_out" });
    }
  };

  // Auto-lock: the host decides (the customer may be active in another tab);
  // this page hides itself when it has been idle that long, and unlocking it
  // takes the password like any lock.
  function armIdleTimer() {
    clearTimeout(state.idleTimer);
    const minutes = state.lock.has_password && state.lock.auto_lock_minutes;
    if (!minutes || state.locked) return;
    state.idleTimer = setTimeout(showLocked, minutes * 60000);
  }

  function activity() {
    if (state.locked) return;
    armIdleTimer();
    const now = Date.now();
    if (now - state.lastActiveSent > 15000) {
      state.lastActiveSent = now;
      send({ type: "active" });
    }
  }
  // Only what the customer does counts (not scrolling, which new messages cause).
  for (const kind of ["keydown", "pointerdown", "touchstart"]) {
    document.addEventListener(kind, activity, { passive: true, capture: true });
  }

  connect();
})();
