// The demo's single-page app: everything goes through the package's client.
import { AuthClient, SessionExpiredError } from "jwt-cookie-auth";

const root = document.getElementById("spa");
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const refreshAhead = Number(params.get("ahead") ?? root.dataset.refreshAhead) || 0;
const autoRefresh = root.dataset.autoRefresh === "true";

const client = new AuthClient({ refreshAhead });
window.jwtClient = client; // for the browser console (and the end-to-end tests)

// One format and zone on every demo page, server-rendered or not: "2026-11-30 18:40:12 UTC"
// (the server pages' utc_time filter), whatever the browser's locale and time zone.
const time = (date) => `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
// Why a user is signed out, one sentence per reason: the server pages' table
// (example_project/demo/signed_out.py), put in the page by json_script.
const signedOutMessages = JSON.parse($("signed-out-messages").textContent);
const usernameOf = (user) => (user ? String(user[root.dataset.usernameField] ?? user.id) : "");

function log(text) {
  const item = document.createElement("li");
  item.textContent = `${time(new Date())} ${text}`;
  $("event-log").prepend(item);
}

function setState(state) {
  root.dataset.state = state;
  $("signed-in").hidden = state !== "signed-in";
  $("signed-out").hidden = state !== "signed-out";
  $("spa-logout-here").hidden = state !== "signed-in";
}

function showSignedIn() {
  const session = client.sessionInfo;
  setState("signed-in");
  $("who").textContent = `Signed in as ${usernameOf(client.user)} by JWT cookies (through the JS client).`;
  $("spa-user").textContent = usernameOf(client.user);
  $("spa-session-id").textContent = session.session_id;
  tick();
}

function showSignedOut(reason) {
  setState("signed-out");
  $("who").textContent = "You are anonymous.";
  const notice = $("logged-out-notice");
  // `reason`: this tab's own action, or the server's (the refusal's JSON `reason`).
  notice.hidden = !reason;
  notice.textContent = reason ? signedOutMessages[reason] || `Logged out (${reason}).` : "";
}

// The countdown and "when will it be renewed", redrawn every quarter second.
function tick() {
  const expires = client.accessExpiresAt;
  if (root.dataset.state !== "signed-in" || !expires) return;
  const left = Math.round((expires - Date.now()) / 1000);
  $("spa-access-expires").textContent = time(expires);
  $("spa-access-expires").dateTime = expires.toISOString();
  $("spa-access-countdown").textContent = left > 0 ? `in ${left} s` : "expired";
  const next = client.nextRefreshAt;
  let renewal;
  if (next) {
    const inSeconds = Math.max(0, Math.round((next - Date.now()) / 1000));
    renewal = `the client renews it at ${time(next)} (in ${inSeconds} s), before it expires.`;
  } else if (autoRefresh) {
    renewal = "after it expires, the server's middleware renews it on the next request (AUTO_REFRESH).";
  } else {
    renewal = "after it expires, the next API call gets a 401: the client refreshes once and retries.";
  }
  $("spa-renewal").textContent = renewal;
}
setInterval(tick, 250);

// "Chrome 131 · Windows 10": the API's parsed device, its unknown ("Other") parts left out.
function deviceLabel(session) {
  const { browser, os, device } = session.device;
  const known = [browser, os, device].filter((part) => part !== "Other");
  if (known.length) return known.join(" · ");
  return session.user_agent ? session.user_agent.slice(0, 50) : "—";
}

async function loadSessions() {
  $("spa-sessions-error").textContent = "";
  const body = $("spa-sessions").tBodies[0];
  let sessions;
  try {
    sessions = await client.sessions();
  } catch (error) {
    if (!(error instanceof SessionExpiredError)) $("spa-sessions-error").textContent = String(error.message);
    return;
  }
  body.replaceChildren();
  for (const session of sessions) {
    const row = body.insertRow();
    row.dataset.sessionId = session.id;
    if (session.current) row.className = "current";
    const cells = [
      time(new Date(session.created_at)) + (session.current ? " (this browser)" : ""),
      time(new Date(session.last_used_at)),
      deviceLabel(session),
      session.ip_address || "—",
    ];
    for (const text of cells) row.insertCell().textContent = text;
    row.cells[2].title = session.user_agent;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Revoke";
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await client.revokeSession(session.id);
        if (!session.current) await loadSessions();
      } catch (error) {
        $("spa-sessions-error").textContent = String(error.message);
        button.disabled = false;
      }
    });
    row.insertCell().append(button);
  }
}

async function callApi(count) {
  const started = performance.now();
  try {
    const responses = await Promise.all(
      Array.from({ length: count }, () => client.fetch("/api/me/", { headers: { Accept: "application/json" } })),
    );
    const bodies = await Promise.all(responses.map((response) => response.json()));
    const statuses = responses.map((response) => response.status).join(", ");
    const ms = Math.round(performance.now() - started);
    $("api-result").textContent = `${time(new Date())}: HTTP ${statuses} in ${ms} ms\n${JSON.stringify(bodies[0], null, 2)}`;
    $("api-result").dataset.statuses = statuses;
  } catch (error) {
    $("api-result").textContent = `${time(new Date())}: ${error.name}: ${error.message}`;
    $("api-result").dataset.statuses = error.name;
  }
}

client.addEventListener("login", (event) => {
  log(`login (${event.detail.source})`);
  if (client.user) {
    showSignedIn();
    loadSessions();
  }
});
client.addEventListener("refresh", (event) => {
  log(`refresh (${event.detail.source}): access token valid until ${time(client.accessExpiresAt)}`);
  tick();
});
client.addEventListener("logout", (event) => {
  log(`logout: ${event.detail.reason} (${event.detail.source})`);
  showSignedOut(event.detail.reason);
});

$("spa-login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  $("spa-login-error").textContent = "";
  try {
    await client.login({
      [root.dataset.usernameField]: form.get("username"),
      password: form.get("password"),
      remember: form.get("remember") === "on",
    });
    event.target.reset();
  } catch (error) {
    $("spa-login-error").textContent = error.message;
  }
});
$("call-api").addEventListener("click", () => callApi(1));
$("call-api-5").addEventListener("click", () => callApi(5));
$("reload-sessions").addEventListener("click", loadSessions);
for (const [id, action] of [
  ["spa-logout-here", () => client.logout()],
  ["spa-logout-all", () => client.logoutAll()],
]) {
  $(id).addEventListener("click", () => action().catch((error) => log(`${error.name}: ${error.message}`)));
}

const initial = await client.session().catch((error) => {
  log(`session: ${error.message}`);
  return { user: null };
});
if (initial.user) {
  showSignedIn();
  loadSessions();
} else if (root.dataset.state === "loading") {
  showSignedOut(null);
}
