// The private page's WebSocket (/ws/whoami/): its state, and what closed it.
// 4401: the session was revoked (logout, force logout...): log in again.
// 4419: the access token expired: refresh the cookie over HTTP, then reconnect
// (the cookie is HttpOnly, so a page cannot hand a new token to an open socket).
(function () {
  "use strict";
  const box = document.getElementById("socket");
  if (!box) return;
  const state = box.querySelector("[data-socket-state]");
  const info = box.querySelector("[data-socket-info]");
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  // What a test (or a curious reader in the console) can inspect.
  const seen = (window.demoSocket = { opened: 0, closeCode: null, closeReason: null, closedAt: null });
  let timer = null;

  async function renew() {
    const session = await fetch("/auth/session/", { credentials: "same-origin" });
    const csrf = (await session.json()).csrf_token;
    const refreshed = await fetch("/auth/refresh/", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf },
    });
    return refreshed.ok;
  }

  function connect() {
    const ws = new WebSocket(scheme + location.host + box.dataset.url);
    state.textContent = "connecting…";
    ws.onopen = function () {
      seen.opened += 1;
      state.textContent = "open";
      timer = setInterval(function () { ws.send("{}"); }, 5000);
    };
    ws.onmessage = function (event) {
      const data = JSON.parse(event.data);
      info.textContent = "as " + (data.user || "anonymous") + ", server time " + data.server_time;
    };
    ws.onclose = function (event) {
      clearInterval(timer);
      seen.closeCode = event.code;
      seen.closeReason = event.reason;
      seen.closedAt = Date.now();
      if (event.code === 4419) {
        state.textContent = "closed (4419: access token expired), renewing…";
        renew().then(function (ok) {
          if (ok) connect();
          else state.textContent = "closed (4419), and the session could not be renewed";
        });
        return;
      }
      const why = event.code === 4401 ? "session revoked: " + event.reason : event.reason;
      state.textContent = "closed (" + event.code + (why ? ": " + why : "") + ")";
      box.dataset.closed = String(event.code);
    };
  }
  connect();
})();
