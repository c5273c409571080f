// The demo's few lines of JavaScript: fetch with the CSRF header, nothing more.
// (The package's own JS client, with refresh-on-401, is a separate piece.)
"use strict";

// The csrftoken cookie, if there is exactly one and it has Django's format (32 or 64
// letters and digits). A malformed one must not throw; of two (one may be planted by
// a sibling subdomain) we cannot tell which the server reads: ask the server instead.
function readCsrfCookie() {
  const values = [];
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === "csrftoken") values.push(rest.join("="));
  }
  return values.length === 1 && /^(?:[A-Za-z0-9]{32}){1,2}$/.test(values[0]) ? values[0] : null;
}

// Django's CSRF token: the csrftoken cookie, or ask /auth/session/, which sets it.
async function csrfToken() {
  const token = readCsrfCookie();
  if (token) return token;
  const response = await fetch("/auth/session/", { credentials: "same-origin" });
  return (await response.json()).csrf_token;
}

async function send(method, url, body) {
  const headers = { "X-CSRFToken": await csrfToken() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function errorMessage(response) {
  try {
    const data = await response.json();
    if (data.detail) return data.detail;
    return Object.entries(data).map(([field, errors]) => `${field}: ${[].concat(errors).join(" ")}`).join("; ");
  } catch {
    return `Request failed (HTTP ${response.status}).`;
  }
}

const loginForm = document.getElementById("login-form");
if (loginForm) {
  loginForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("login-error");
    error.textContent = "";
    const form = new FormData(loginForm);
    const body = {
      [loginForm.dataset.usernameField]: form.get("username"),
      password: form.get("password"),
      remember: form.get("remember") === "on",
    };
    try {
      const response = await send("POST", loginForm.dataset.url, body);
      if (response.ok) {
        // The server validated ?next= (url_has_allowed_host_and_scheme) into data-next.
        location.assign(loginForm.dataset.next);
      } else {
        error.textContent = await errorMessage(response);
      }
    } catch (exc) {
      error.textContent = `Network error: ${exc}`;
    }
  });
}

// Log out / log out everywhere: POST, then go home (anonymous now).
for (const button of document.querySelectorAll("[data-logout]")) {
  button.addEventListener("click", async () => {
    const response = await send("POST", button.dataset.logout);
    if (response.ok) {
      location.assign("/");
    } else {
      alert(await errorMessage(response));
    }
  });
}

// Revoke one session, then reload the list (revoking this browser's logs it out).
for (const button of document.querySelectorAll("[data-revoke]")) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    const response = await send("DELETE", button.dataset.revoke);
    if (response.ok) {
      location.reload();
    } else {
      document.getElementById("sessions-error").textContent = await errorMessage(response);
      button.disabled = false;
    }
  });
}

// The private page counts down to the access token's expiry.
const expiry = document.querySelector("#access-expiry time");
if (expiry) {
  const countdown = document.getElementById("access-countdown");
  const end = Date.parse(expiry.getAttribute("datetime"));
  const tick = () => {
    const left = Math.round((end - Date.now()) / 1000);
    countdown.textContent = left > 0
      ? `in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`
      : "expired: reload to see it renewed";
    if (left > 0) setTimeout(tick, 1000);
  };
  tick();
}

// Over plain HTTP a browser keeps Secure cookies only in what it counts as a secure
// context: Chromium on localhost, *.localhost and 127.0.0.1, Firefox on localhost; never
// Safari (README "Development"). Elsewhere a login would not stick: say so.
if (location.protocol === "http:" && !window.isSecureContext) {
  const warning = document.createElement("p");
  warning.className = "note";
  warning.id = "insecure-host-warning";
  const link = document.createElement("a");
  link.href = `http://localhost:${location.port}${location.pathname}`;
  link.textContent = link.href;
  warning.append("This browser drops the Secure token cookies over plain HTTP on this " +
    "address, so a login here will not stick. Open ", link, " instead.");
  document.querySelector("main").prepend(warning);
}
