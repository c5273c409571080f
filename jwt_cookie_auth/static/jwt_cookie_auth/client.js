// Browser client for django-jwt-cookie-auth: fetch with cookies, CSRF and refresh-on-401.
//
// A dependency-free ES module. Use it from <script type="module"> (served by Django's
// staticfiles as "jwt_cookie_auth/client.js") or copy it into a bundled front end.
//
//   import { AuthClient, SessionExpiredError } from "/static/jwt_cookie_auth/client.js";
//   const auth = new AuthClient();                  // API on this origin, /auth/ endpoints
//   auth.addEventListener("logout", () => showLoginForm());
//   const response = await auth.fetch("/api/me/");  // a 401 turns into one refresh + one retry
//
// The tokens live in HttpOnly cookies: this code never sees them. What it does:
//
// - Every request to the API's origin is sent with credentials, and unsafe methods
//   carry Django's CSRF header. The token comes from the CSRF cookie when this page
//   can read it, else from the `csrf_token` that the session, login and refresh
//   endpoints return (the only source when the API is on another site); without
//   either, it is fetched once from the session endpoint. A 403 "CSRF Failed" gets a
//   new token and one retry. A CSRF cookie that appears twice (one may be planted) or
//   is not in Django's format is never sent: the server's token is used instead.
// - A 401 from any URL except login/refresh/logout/session starts ONE refresh, shared
//   by every concurrent call of this tab (single flight) and serialised across the
//   tabs of this origin with the Web Locks API (a localStorage lease where that API is
//   missing, e.g. outside a secure context). Holding the lock, a tab first sends its
//   request again: the cookie jar is shared, so if another tab refreshed meanwhile the
//   retry carries the new cookies and succeeds, and this tab sends no refresh. Only a
//   retry still refused (401) makes it refresh, then retry once more. A localStorage
//   note cannot replace that retry: its writes reach other tabs late (a tab that took
//   the lock 1-3 ms after another tab's refresh still read the old value), while the
//   cookies of a refresh response are in the jar before its body arrives. So two tabs
//   never send the same refresh token. Cost: one more 401 per expiry, from the tab
//   that then refreshes.
// - A refused refresh (401) never starts another: the client marks the session
//   expired, emits ONE `logout` (in every tab) and rejects every waiting call with the
//   same SessionExpiredError (its `reason` is the event's). Later 401s reject at
//   once with it, until login() or a login in another tab. A network error or a 5xx
//   during a refresh is no logout: the calls reject with that error (a TypeError, or
//   AuthError with the status) and the next 401 tries again. The event's
//   `reason` is the server's (the refusal's JSON `reason`: "admin", "logout",
//   "reuse_detected", "expired", ...). A 401 whose `code` says the session itself is
//   over ("session_revoked", "session_expired") ends it the same way without a refresh:
//   that response already deleted the cookies, so a refresh could only say "expired".
// - Optionally (`refreshAhead`), it refreshes shortly before the access token
//   expires, from the expiry times the endpoints return.
// - A 401 that asks for a fresher authentication (RFC 9470 step-up: `WWW-Authenticate:
//   Bearer error="insufficient_user_authentication"`, or the body's `code`) is no
//   expired session: nothing is refreshed, nobody is logged out. The client emits
//   `reauthenticate` ({maxAge, amr, description, url, response}) and returns that 401;
//   ask for the password, call `reauthenticate({password})`, then retry the request.

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
// A proactive refresh is never scheduled sooner than this after the previous one,
// nor before half the access token's lifetime: a skewed clock cannot make it loop.
const MIN_PROACTIVE_INTERVAL_MS = 1000;
// The localStorage lease that replaces Web Locks: how long a crashed tab can hold it,
// and how long a tab waits for it before refreshing anyway (the server's rotation
// grace period still covers that case).
const LEASE_MS = 10000;
const LEASE_WAIT_MS = 12000;

/** A request to the auth API failed; `status` and `data` tell why. */
export class AuthError extends Error {
  constructor(message, response = null, data = null) {
    super(message);
    this.name = "AuthError";
    this.response = response;
    this.status = response ? response.status : 0;
    this.data = data;
  }
}

/** The credentials were refused (401), invalid (400) or throttled (429). */
export class LoginError extends AuthError {
  constructor(message, response, data) {
    super(message, response, data);
    this.name = "LoginError";
  }
}

/**
 * The session is over (refresh refused, revoked, logged out): log in again. `reason`
 * says why, as the `logout` event does ("admin", "logout", "expired", ...). Every call
 * that was waiting when the session ended rejects with the same instance.
 */
export class SessionExpiredError extends AuthError {
  constructor(message = "Your session has expired. Please log in again.", response = null, data = null, reason = null) {
    super(message, response, data);
    this.name = "SessionExpiredError";
    this.reason = reason || refusalReason(data) || "expired";
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function randomId() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

// Django's CSRF cookie holds CSRF_SECRET_LENGTH (32) or, from older versions,
// CSRF_TOKEN_LENGTH (64) ASCII letters and digits; anything else is not its token.
const CSRF_TOKEN_FORMAT = /^(?:[A-Za-z0-9]{32}){1,2}$/;

// Every distinct value of the cookie `name` that this page can read. A value that is
// not valid percent-encoding is kept as it is: it must not throw (and stop a logout).
function readCookies(name) {
  if (typeof document === "undefined" || !document.cookie) return [];
  const values = new Set();
  for (const part of document.cookie.split(";")) {
    const index = part.indexOf("=");
    if (index > 0 && part.slice(0, index).trim() === name) {
      const raw = part.slice(index + 1).trim();
      try {
        values.add(decodeURIComponent(raw));
      } catch {
        values.add(raw);
      }
    }
  }
  return [...values];
}

// The page's CSRF cookie: `token` when there is exactly one and it has Django's
// format; null when there is none, or two or more (one planted on another path or by
// a sibling subdomain: which one the server reads is not visible from here).
// `malformed`: the only one there is cannot be Django's.
function readCsrfCookie(name) {
  const values = readCookies(name);
  const token = values.length === 1 && CSRF_TOKEN_FORMAT.test(values[0]) ? values[0] : null;
  return { token, malformed: values.length === 1 && token === null };
}

// Token fields this client must never hold. The server sends tokens in a body only to
// native clients (TOKENS_IN_BODY, no Origin/Sec-Fetch-* headers, or a Bearer refresh);
// should one reach a page anyway, it is dropped before anything (state, events,
// localStorage, return values) can keep it, so an XSS finds no token here.
const TOKEN_FIELDS = ["access", "refresh"];

async function readJSON(response) {
  if (response.status === 204) return null;
  let data;
  try {
    data = await response.clone().json();
  } catch {
    return null;
  }
  if (data && typeof data === "object" && !Array.isArray(data)) {
    for (const field of TOKEN_FIELDS) delete data[field];
  }
  return data;
}

const STEP_UP_ERROR = "insufficient_user_authentication";

// The RFC 9470 challenge of a 401, or null. The header is read when visible (across
// origins only if the API exposes it); the JSON body's `code` says the same.
async function stepUpChallenge(response) {
  const header = response.headers.get("WWW-Authenticate") || "";
  const data = await readJSON(response);
  const fromBody = data && typeof data === "object" && data.code === STEP_UP_ERROR;
  if (!header.includes(`error="${STEP_UP_ERROR}"`) && !fromBody) return null;
  const maxAge = /max_age=(\d+)/.exec(header)?.[1] ?? (fromBody ? data.max_age : undefined);
  const description = /error_description="([^"]*)"/.exec(header)?.[1] ?? (fromBody ? data.detail : undefined);
  return {
    maxAge: maxAge === undefined || maxAge === null ? null : Number(maxAge),
    amr: fromBody && Array.isArray(data.amr) ? data.amr : [],
    description: description ?? null,
  };
}

// The server's reason for a refusal ("admin", "logout", "expired", ...), or null.
function refusalReason(data) {
  return data && typeof data.reason === "string" && data.reason ? data.reason : null;
}

// Codes of a 401 that ends the session: revoked or expired, not just the access token.
const SESSION_OVER = new Set(["session_revoked", "session_expired"]);

function describe(data, response) {
  if (data && typeof data.detail === "string") return data.detail;
  if (data && typeof data === "object") {
    const parts = Object.entries(data).map(([field, errors]) => `${field}: ${[].concat(errors).join(" ")}`);
    if (parts.length) return parts.join("; ");
  }
  return `HTTP ${response.status}`;
}

function storage() {
  try {
    return globalThis.localStorage || null;
  } catch {
    return null; // access denied (sandboxed frame, some privacy modes)
  }
}

function loadJSON(key) {
  try {
    const raw = storage()?.getItem(key);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

function saveJSON(key, value) {
  try {
    if (value === null) storage()?.removeItem(key);
    else storage()?.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or denied: cross-tab coordination degrades to the server's grace period.
  }
}

// What one tab tells the others about the cookies (never a token, never the user).
function expiryFields(data) {
  return {
    session_id: data.session_id ?? null,
    access_expires_at: data.access_expires_at ?? null,
    refresh_expires_at: data.refresh_expires_at ?? null,
    session_expires_at: data.session_expires_at ?? null,
  };
}

export class AuthClient extends EventTarget {
  #options;
  #fetch;
  #base;
  #urls;
  #noRefresh;
  #key;
  #tabId = randomId();
  #csrfToken = null;
  #csrfPromise = null;
  #refreshPromise = null;
  #endError = null; // the SessionExpiredError of the session that ended, while #expired
  #lastRefreshAt = 0; // when this tab last knew the cookies to be freshly issued
  #session = null;
  #knownAt = 0; // when #session's expiry times were received
  #skewMs = 0; // server clock minus local clock, from the Date header when readable
  #expired = false;
  #timer = null;
  #nextRefreshAt = null;
  #channel = null;
  #onStorage = null;
  #onVisible = null;

  /**
   * @param {object} [options]
   * @param {string} [options.baseURL] the API's origin (and path prefix); default this page
   * @param {string} [options.authPath] where jwt_cookie_auth.urls is included ("/auth/")
   * @param {string} [options.csrfCookieName] Django's CSRF_COOKIE_NAME ("csrftoken")
   * @param {string} [options.csrfHeaderName] header for CSRF_HEADER_NAME ("X-CSRFToken")
   * @param {number} [options.refreshAhead] seconds before access expiry to refresh; 0: only on 401
   * @param {string} [options.lockName] Web Lock / storage name shared by the tabs
   * @param {typeof fetch} [options.fetch] the fetch to wrap (default globalThis.fetch)
   */
  constructor(options = {}) {
    super();
    this.#options = {
      baseURL: "",
      authPath: "/auth/",
      csrfCookieName: "csrftoken",
      csrfHeaderName: "X-CSRFToken",
      refreshAhead: 0,
      lockName: null,
      fetch: null,
      ...options,
    };
    const fetchImpl = this.#options.fetch || globalThis.fetch;
    this.#fetch = (request) => fetchImpl.call(globalThis, request);
    const pageURL = typeof location !== "undefined" ? location.href : undefined;
    this.#base = new URL(this.#options.baseURL || pageURL, pageURL);
    const auth = new URL(this.#options.authPath, this.#base);
    const at = (path) => new URL(path, auth).href;
    this.#urls = {
      login: at("login/"),
      refresh: at("refresh/"),
      logout: at("logout/"),
      logoutAll: at("logout/all/"),
      session: at("session/"),
      sessions: at("sessions/"),
      reauthenticate: at("reauthenticate/"),
    };
    const { login, refresh, logout, session, reauthenticate } = this.#urls;
    this.#noRefresh = new Set([login, refresh, logout, session, reauthenticate].map((url) => new URL(url).pathname));
    this.#key = this.#options.lockName || `jwt-cookie-auth:${auth.href}`;
    this.#listen();
  }

  /** The last known session (`user`, `session_id`, expiry times), or null. */
  get sessionInfo() {
    return this.#session;
  }

  /** The logged-in user as the API returned it, or null. */
  get user() {
    return this.#session ? this.#session.user : null;
  }

  /** When the access token expires, in this browser's clock, or null. */
  get accessExpiresAt() {
    const at = this.#session?.access_expires_at;
    return at ? new Date(Date.parse(at) - this.#skewMs) : null;
  }

  /** When the proactive refresh is due (null: off, or no session). */
  get nextRefreshAt() {
    return this.#nextRefreshAt === null ? null : new Date(this.#nextRefreshAt);
  }

  /** True after a refresh failed or the user logged out, until the next login. */
  get expired() {
    return this.#expired;
  }

  /** Seconds before access expiry at which to refresh proactively; 0 turns it off. */
  get refreshAhead() {
    return this.#options.refreshAhead;
  }

  set refreshAhead(seconds) {
    this.#options.refreshAhead = Math.max(0, Number(seconds) || 0);
    this.#schedule();
  }

  /**
   * fetch() for the API. Requests to other origins are passed through untouched (no
   * cookies added, no CSRF token leaked). Rejects with SessionExpiredError when the
   * session cannot be renewed.
   */
  async fetch(input, init = undefined) {
    const url = input instanceof Request ? input.url : new URL(String(input), this.#base).href;
    const request = new Request(input instanceof Request ? input : url, init);
    if (new URL(request.url).origin !== this.#base.origin) return this.#fetch(request);
    if (this.#noRefresh.has(new URL(request.url).pathname)) return this.#send(request);
    const startedAt = Date.now();
    const response = await this.#send(request.clone());
    if (response.status !== 401) return response;
    const challenge = await stepUpChallenge(response);
    if (challenge) {
      // The session is fine; the user must prove who they are again (RFC 9470).
      this.#emit("reauthenticate", { ...challenge, url: request.url, response });
      return response;
    }
    if (this.#expired) throw this.#sessionEnded();
    const data = await readJSON(response);
    if (data && SESSION_OVER.has(data.code) && this.#lastRefreshAt < startedAt) {
      // The session is over (a force logout, say), and no newer cookies arrived since
      // this request left (a login in another tab): no refresh, the server's reason.
      this.#endSession(
        refusalReason(data) || "expired",
        "this-tab",
        new SessionExpiredError(describe(data, response), response, data),
      );
      throw this.#sessionEnded();
    }
    // The retry under the lock (see #refreshLocked): when it succeeds, it is the answer.
    let retried = null;
    await this.#refreshAfter(startedAt, async () => {
      retried = await this.#send(request.clone());
      return retried;
    });
    if (retried && retried.status !== 401) return retried;
    // Retried once after a refresh: a second 401 is the caller's, never another refresh.
    return this.#send(request);
  }

  /** Django's CSRF token for the API, fetching it from the session endpoint if needed. */
  async csrfToken({ renew = false } = {}) {
    const cookieName = this.#options.csrfCookieName;
    if (!renew) {
      const sameOrigin = typeof location !== "undefined" && location.origin === this.#base.origin;
      const cookie = readCsrfCookie(cookieName);
      // The page's own cookie jar is the API's only when they share an origin (or a
      // cookie Domain); across sites the token from the API's responses is the one.
      // Duplicate cookies: the token the server last returned, which matches the
      // cookie it reads. A lone malformed cookie: the server must replace it, and the
      // session endpoint does, so no request is sent that is sure to get a 403.
      const token = sameOrigin
        ? cookie.token || (cookie.malformed ? null : this.#csrfToken)
        : this.#csrfToken || cookie.token;
      if (token) return token;
    }
    if (!this.#csrfPromise) {
      this.#csrfPromise = this.#loadSession()
        .then((data) => data?.csrf_token || readCsrfCookie(cookieName).token || "")
        .finally(() => {
          this.#csrfPromise = null;
        });
    }
    return this.#csrfPromise;
  }

  /**
   * Log in: `{username, password, remember}` (the user model's USERNAME_FIELD as key).
   * Resolves with the session; rejects with LoginError.
   */
  async login(credentials) {
    const response = await this.#send(
      new Request(this.#urls.login, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(credentials),
      }),
    );
    const data = await readJSON(response);
    if (!response.ok) throw new LoginError(describe(data, response), response, data);
    this.#expired = false;
    this.#endError = null;
    this.#lastRefreshAt = Date.now();
    this.#adopt(data, response);
    this.#share("login", data);
    this.#emit("login", { session: data, source: "this-tab" });
    return data;
  }

  /**
   * Step-up: prove the password again (`{password}`) for the same session, after a
   * `reauthenticate` event. Resolves with the session; rejects with LoginError (401
   * wrong password, 429 throttled). Then retry the request that was refused.
   */
  async reauthenticate(credentials) {
    const response = await this.#send(
      new Request(this.#urls.reauthenticate, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(credentials),
      }),
    );
    const data = await readJSON(response);
    if (!response.ok) throw new LoginError(describe(data, response), response, data);
    this.#lastRefreshAt = Date.now();
    this.#adopt(data, response);
    this.#share("refresh", data);
    this.#emit("reauthenticated", { session: data, source: "this-tab" });
    return data;
  }

  /** Renew the tokens now (shared with any refresh already under way). */
  refresh() {
    return this.#refreshShared(Date.now());
  }

  /**
   * Ask who is logged in (and get the CSRF token). When the answer is anonymous but
   * this browser had a session whose refresh token may still be valid (the access
   * cookie expired), one refresh is tried first.
   */
  async session() {
    const hadSession = this.#session !== null;
    const data = await this.#loadSession({ adoptUser: true });
    if (data && data.user) return data;
    const shared = loadJSON(this.#key);
    const refreshable =
      !this.#expired && shared && shared.refresh_expires_at && Date.parse(shared.refresh_expires_at) > Date.now();
    if (refreshable) {
      try {
        return await this.#refreshShared(Date.now());
      } catch (error) {
        if (!(error instanceof SessionExpiredError)) throw error;
        return { user: null, csrf_token: this.#csrfToken };
      }
    }
    if (hadSession) this.#endSession("expired", "this-tab");
    return data;
  }

  /** Log out this browser: its session is revoked and the cookies deleted. */
  async logout() {
    const response = await this.#send(new Request(this.#urls.logout, { method: "POST" }));
    if (!response.ok) throw new AuthError(describe(await readJSON(response), response), response);
    this.#endSession("logout", "this-tab");
  }

  /** Log out every session of this user, on every device. */
  async logoutAll() {
    const response = await this.fetch(this.#urls.logoutAll, { method: "POST" });
    if (!response.ok) throw new AuthError(describe(await readJSON(response), response), response);
    this.#endSession("logout-all", "this-tab");
  }

  /** The user's live sessions (`current` marks this browser's). */
  async sessions() {
    const response = await this.fetch(this.#urls.sessions, { headers: { Accept: "application/json" } });
    const data = await readJSON(response);
    if (!response.ok) throw new AuthError(describe(data, response), response, data);
    return Array.isArray(data) ? data : data.results;
  }

  /** Revoke one of the user's sessions; revoking this browser's own ends it here too. */
  async revokeSession(sessionId) {
    const response = await this.fetch(new URL(`${encodeURIComponent(sessionId)}/`, this.#urls.sessions), {
      method: "DELETE",
    });
    if (!response.ok) throw new AuthError(describe(await readJSON(response), response), response);
    if (this.#session && String(this.#session.session_id) === String(sessionId)) {
      this.#endSession("revoked", "this-tab");
    }
  }

  /** Stop timers and cross-tab listeners (for single-page apps that unmount). */
  close() {
    this.#clearTimer();
    this.#channel?.close();
    this.#channel = null;
    if (this.#onStorage) globalThis.removeEventListener?.("storage", this.#onStorage);
    if (this.#onVisible) globalThis.document?.removeEventListener("visibilitychange", this.#onVisible);
  }

  // --- requests -------------------------------------------------------------------

  // Send one request to the API with cookies and, for unsafe methods, the CSRF header.
  async #send(request) {
    const unsafe = !SAFE_METHODS.has(request.method.toUpperCase());
    const attempt = async (renew) => {
      const headers = new Headers(request.headers);
      if (unsafe) headers.set(this.#options.csrfHeaderName, await this.csrfToken({ renew }));
      return this.#fetch(new Request(request.clone(), { headers, credentials: "include" }));
    };
    const response = await attempt(false);
    if (unsafe && response.status === 403) {
      const data = await readJSON(response);
      // The error's `code` tells a CSRF refusal from other 403s; `detail` is translated,
      // so its "CSRF Failed" prefix is only the fallback for servers without codes.
      const csrfFailed =
        data && (data.code === "csrf_failed" || (typeof data.detail === "string" && data.detail.startsWith("CSRF Failed")));
      if (csrfFailed) {
        // A stale token (rotated at login in another tab): one retry with a new one.
        this.#csrfToken = null;
        return attempt(true);
      }
    }
    return response;
  }

  // GET the session endpoint. Only session() (and a login seen in another tab) take
  // its user as the new state; a CSRF bootstrap mid-refresh must not forget the user.
  async #loadSession({ adoptUser = false } = {}) {
    const response = await this.#fetch(
      new Request(this.#urls.session, { credentials: "include", headers: { Accept: "application/json" } }),
    );
    const data = await readJSON(response);
    if (!response.ok || !data) throw new AuthError(describe(data, response), response, data);
    this.#adopt(adoptUser ? data : { csrf_token: data.csrf_token }, response);
    return data;
  }

  // --- refresh --------------------------------------------------------------------

  #refreshAfter(startedAt, retry) {
    // The cookies were renewed after the failed request left: just retry it.
    if (this.#lastRefreshAt >= startedAt) return Promise.resolve(this.#session);
    return this.#refreshShared(startedAt, retry);
  }

  // The error every call gets once the session has ended.
  #sessionEnded() {
    return this.#endError || new SessionExpiredError();
  }

  // One refresh per tab at a time; `since`: a refresh completed after it will do.
  // `retry`: the refused request, sent again under the lock before any refresh (only
  // the first caller's: the others wait for this one outcome, then retry).
  #refreshShared(since, retry = null) {
    if (this.#expired) return Promise.reject(this.#sessionEnded());
    if (!this.#refreshPromise) {
      this.#refreshPromise = this.#withLock(() => this.#refreshLocked(since, retry)).finally(() => {
        this.#refreshPromise = null;
      });
    }
    return this.#refreshPromise;
  }

  async #refreshLocked(since, retry) {
    // Another tab may have found the session dead while this one waited for the lock.
    const shared = loadJSON(this.#key);
    if (shared && shared.loggedOutAt >= since) this.#endSession(shared.reason || "expired", "other-tab");
    if (this.#expired) throw this.#sessionEnded();
    if (retry) {
      // Another tab may have refreshed while this one waited: its cookies are in the
      // shared jar, so the refused request, sent again, now carries them. Only if it is
      // still refused does this tab refresh (localStorage is no proof either way: a
      // write there reaches the other tabs late).
      const sentAt = Date.now();
      const response = await retry();
      if (response.status !== 401) {
        this.#lastRefreshAt = Math.max(this.#lastRefreshAt, sentAt);
        return this.#session;
      }
      const data = await readJSON(response);
      if (data && SESSION_OVER.has(data.code)) {
        this.#endSession(
          refusalReason(data) || "expired",
          "this-tab",
          new SessionExpiredError(describe(data, response), response, data),
        );
        throw this.#sessionEnded();
      }
      if (this.#expired) throw this.#sessionEnded(); // told by another tab meanwhile
    } else if (shared && shared.at >= since) {
      // An explicit or proactive refresh: another tab's, completed while this one
      // waited, will do (at worst the server's grace period covers a stale read).
      this.#fromOtherTab("refresh", shared);
      return this.#session;
    }
    const response = await this.#send(
      new Request(this.#urls.refresh, { method: "POST", headers: { Accept: "application/json" } }),
    );
    const data = await readJSON(response);
    if (response.status === 401) {
      this.#endSession(
        refusalReason(data) || "expired",
        "this-tab",
        new SessionExpiredError(describe(data, response), response, data),
      );
      throw this.#sessionEnded();
    }
    if (!response.ok || !data) throw new AuthError(describe(data, response), response, data);
    this.#lastRefreshAt = Date.now();
    this.#adopt(data, response);
    this.#share("refresh", data);
    this.#emit("refresh", { session: data, source: "this-tab" });
    return data;
  }

  async #withLock(task) {
    const locks = globalThis.navigator?.locks;
    if (locks && typeof locks.request === "function") {
      let started = false;
      try {
        return await locks.request(this.#key, () => {
          started = true;
          return task();
        });
      } catch (error) {
        // A frame whose storage the browser blocks (a third-party embed without
        // storage partitioning) gets a SecurityError from Web Locks: no other tab can
        // share this one's storage there, so it goes on alone (the lease below, or
        // none). An error of the task itself is the caller's.
        if (started || error?.name !== "SecurityError") throw error;
      }
    }
    return this.#withLease(task);
  }

  // Fallback mutex on localStorage: write a lease, wait, and check that it survived.
  async #withLease(task) {
    const key = `${this.#key}:lease`;
    if (!storage()) return task();
    const giveUpAt = Date.now() + LEASE_WAIT_MS;
    let held = false;
    while (!held && Date.now() < giveUpAt) {
      const lease = loadJSON(key);
      if (!lease || lease.until < Date.now() || lease.owner === this.#tabId) {
        saveJSON(key, { owner: this.#tabId, until: Date.now() + LEASE_MS });
        await sleep(40 + Math.random() * 40); // a competing tab's write lands meanwhile
        held = loadJSON(key)?.owner === this.#tabId;
      }
      if (!held) await sleep(25 + Math.random() * 25);
    }
    try {
      return await task();
    } finally {
      if (loadJSON(key)?.owner === this.#tabId) saveJSON(key, null);
    }
  }

  // --- session state --------------------------------------------------------------

  #adopt(data, response) {
    if (data.csrf_token) this.#csrfToken = data.csrf_token;
    // The Date header has whole seconds: +500 ms centres the estimate, and a skew
    // under 2 s is taken as none (same machine, or both clocks synchronised).
    const serverDate = Date.parse(response.headers.get("Date") || "");
    if (!Number.isNaN(serverDate)) {
      const skew = serverDate + 500 - Date.now();
      this.#skewMs = Math.abs(skew) < 2000 ? 0 : skew;
    }
    if (data.user === undefined) return;
    if (data.user === null) {
      this.#session = null;
    } else {
      const { csrf_token: _csrf, ...session } = data;
      this.#session = session;
      this.#expired = false;
      this.#endError = null;
      this.#knownAt = Date.now();
    }
    this.#schedule();
  }

  // One end per session: the first caller's error and reason are kept (every waiting
  // call rejects with that error) and the `logout` event fires once per tab.
  #endSession(reason, source, error = null) {
    const wasExpired = this.#expired;
    this.#expired = true;
    if (!wasExpired || !this.#endError) this.#endError = error || new SessionExpiredError(undefined, null, null, reason);
    this.#session = null;
    this.#clearTimer();
    if (source === "this-tab") {
      saveJSON(this.#key, { loggedOutAt: Date.now(), reason });
      this.#post({ type: "logout", reason });
    }
    if (!wasExpired) this.#emit("logout", { reason, source });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // --- proactive refresh ----------------------------------------------------------

  #clearTimer() {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#nextRefreshAt = null;
  }

  #schedule() {
    this.#clearTimer();
    const ahead = this.#options.refreshAhead * 1000;
    const expires = this.accessExpiresAt?.getTime();
    if (!ahead || !expires || this.#expired) return;
    const lifetime = expires - this.#knownAt;
    if (lifetime <= 0) return; // already expired by our clock: the 401 path handles it
    const due = Math.max(
      expires - ahead,
      this.#knownAt + lifetime / 2,
      this.#lastRefreshAt + MIN_PROACTIVE_INTERVAL_MS,
    );
    this.#nextRefreshAt = due;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#nextRefreshAt = null;
      this.#refreshShared(this.#knownAt + 1).catch(() => {
        // Reported by the `logout` event; a network error waits for the next 401.
      });
    }, Math.max(0, due - Date.now()));
  }

  // --- other tabs -----------------------------------------------------------------

  #share(type, data) {
    const record = { at: this.#lastRefreshAt, ...expiryFields(data) };
    saveJSON(this.#key, record);
    this.#post({ type, ...record });
  }

  #post(message) {
    const payload = { ...message, from: this.#tabId };
    if (this.#channel) {
      this.#channel.postMessage(payload);
    } else {
      // Without BroadcastChannel, a localStorage write fires `storage` in the other tabs.
      saveJSON(`${this.#key}:message`, { ...payload, nonce: randomId() });
    }
  }

  #listen() {
    const receive = (message) => {
      if (!message || message.from === this.#tabId) return;
      if (message.type === "logout") this.#endSession(message.reason, "other-tab");
      else if (message.type === "refresh" || message.type === "login") this.#fromOtherTab(message.type, message);
    };
    if (typeof BroadcastChannel === "function") {
      this.#channel = new BroadcastChannel(this.#key);
      this.#channel.onmessage = (event) => receive(event.data);
    } else if (globalThis.addEventListener) {
      this.#onStorage = (event) => {
        if (event.key === `${this.#key}:message` && event.newValue) {
          try {
            receive(JSON.parse(event.newValue));
          } catch {
            // not ours
          }
        }
      };
      globalThis.addEventListener("storage", this.#onStorage);
    }
    if (globalThis.document) {
      // Timers are throttled in hidden tabs: catch up on a due refresh when shown again.
      this.#onVisible = () => {
        if (document.visibilityState === "visible" && this.#nextRefreshAt !== null) this.#schedule();
      };
      document.addEventListener("visibilitychange", this.#onVisible);
    }
  }

  // Another tab logged in or refreshed: the shared cookies are fresh.
  #fromOtherTab(type, record) {
    this.#lastRefreshAt = Math.max(this.#lastRefreshAt, record.at || 0);
    if (type === "login" || !this.#session || record.session_id !== this.#session.session_id) {
      // Another login (maybe another user): ask the server who this is now.
      this.#expired = false;
      this.#endError = null;
      this.#loadSession({ adoptUser: true })
        .then((data) => this.#emit(type, { session: data.user ? data : null, source: "other-tab" }))
        .catch(() => {});
      return;
    }
    this.#session = { ...this.#session, ...expiryFields(record) };
    this.#knownAt = Date.now();
    this.#schedule();
    this.#emit(type, { session: this.#session, source: "other-tab" });
  }
}

export default AuthClient;
