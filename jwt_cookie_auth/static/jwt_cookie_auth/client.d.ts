// Types for client.js, the browser client of django-jwt-cookie-auth.

/** The user as the auth endpoints return it (USER_SERIALIZER decides the fields). */
export interface AuthUser {
  id: string;
  [field: string]: unknown;
}

/** What GET session/, POST login/ and POST refresh/ return (never a token). */
export interface SessionInfo {
  user: AuthUser | null;
  session_id?: string;
  /** ISO 8601, server time. */
  access_expires_at?: string;
  refresh_expires_at?: string | null;
  session_expires_at?: string | null;
  csrf_token?: string;
}

/** One row of GET sessions/. */
export interface LoginSessionInfo {
  id: string;
  current: boolean;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  absolute_expires_at: string;
  persistent: boolean;
  user_agent: string;
  /** Names parsed from user_agent, each "Other" when unknown. */
  device: { browser: string; os: string; device: string };
  ip_address: string | null;
}

export interface AuthClientOptions {
  /** The API's origin and optional path prefix; default: this page's origin. */
  baseURL?: string;
  /** Where `jwt_cookie_auth.urls` is included, relative to baseURL. Default "/auth/". */
  authPath?: string;
  /** Django's CSRF_COOKIE_NAME. Default "csrftoken". */
  csrfCookieName?: string;
  /** The header for Django's CSRF_HEADER_NAME. Default "X-CSRFToken". */
  csrfHeaderName?: string;
  /** Seconds before the access token expires to refresh it; 0 (default): only on 401. */
  refreshAhead?: number;
  /** Name of the Web Lock and localStorage keys shared by the tabs. */
  lockName?: string | null;
  /** The fetch to wrap. Default: globalThis.fetch. */
  fetch?: typeof fetch | null;
}

/** `detail.source`: whether this tab or another tab of the origin caused the event. */
export type EventSource = "this-tab" | "other-tab";

export interface SessionEventDetail {
  session: SessionInfo | null;
  source: EventSource;
}

/**
 * Why the server refused the session (the `reason` of its 401 body): a RevokeReason
 * value, or "expired" / "absolute_lifetime" (timed out), or another refusal.
 */
export type ServerLogoutReason =
  | "admin"
  | "command"
  | "logout"
  | "logout_all"
  | "user_revoked"
  | "password_change"
  | "deactivated"
  | "user_deleted"
  | "reuse_detected"
  | "superseded"
  | "session_logout"
  | "session_login_other_user"
  | "revoked"
  | "unknown_session"
  | "expired"
  | "absolute_lifetime"
  | "unknown_user"
  | "invalid_token"
  | "duplicate_cookies";

/**
 * `logout` fires once per ended session in each tab of the origin (`source` says
 * which tab ended it): after a refused refresh, a 401 whose `code` says the session is
 * over, or an explicit logout()/logoutAll()/revokeSession() of this browser (also
 * announced to the other tabs, with the same reason). Never for a network error or 5xx.
 */
export interface LogoutEventDetail {
  /**
   * This tab's own action ("logout", "logout-all", "revoked": revokeSession() of this
   * browser), or the server's reason for refusing the session (`ServerLogoutReason`,
   * e.g. "admin" after a force logout; "expired" when the 401 named none).
   */
  reason: "logout-all" | ServerLogoutReason | (string & {});
  source: EventSource;
}

/**
 * A 401 asked for a fresher (or another) authentication: RFC 9470
 * `error="insufficient_user_authentication"`. The session is not over; call
 * `reauthenticate()` and retry.
 */
export interface ReauthenticateEventDetail {
  /** Seconds: how recent the authentication must be (the challenge's `max_age`), or null. */
  maxAge: number | null;
  /** RFC 8176 methods the view requires (e.g. ["otp"]); [] when only recency is asked. */
  amr: string[];
  description: string | null;
  /** The URL of the refused request. */
  url: string;
  /** The 401 itself, also returned by fetch(). */
  response: Response;
}

export interface AuthClientEventMap {
  login: CustomEvent<SessionEventDetail>;
  refresh: CustomEvent<SessionEventDetail>;
  logout: CustomEvent<LogoutEventDetail>;
  reauthenticate: CustomEvent<ReauthenticateEventDetail>;
  reauthenticated: CustomEvent<SessionEventDetail>;
}

export class AuthError extends Error {
  readonly response: Response | null;
  readonly status: number;
  readonly data: unknown;
  constructor(message: string, response?: Response | null, data?: unknown);
}

/** The credentials were refused (401), invalid (400) or throttled (429). */
export class LoginError extends AuthError {}

/**
 * The session is over: log in again. One instance per ended session: every call that
 * was waiting when it ended, and every later call until the next login, rejects with
 * the same object.
 */
export class SessionExpiredError extends AuthError {
  /** Why, as the `logout` event's `detail.reason` ("admin", "logout", "expired", ...). */
  readonly reason: LogoutEventDetail["reason"];
  constructor(message?: string, response?: Response | null, data?: unknown, reason?: string | null);
}

export class AuthClient extends EventTarget {
  constructor(options?: AuthClientOptions);

  /** The last known session (no network request), or null. */
  readonly sessionInfo: Omit<SessionInfo, "csrf_token"> | null;
  readonly user: AuthUser | null;
  /** Access token expiry in this browser's clock. */
  readonly accessExpiresAt: Date | null;
  /** When the proactive refresh is due, or null. */
  readonly nextRefreshAt: Date | null;
  /** True after a failed refresh or a logout, until the next login. */
  readonly expired: boolean;
  refreshAhead: number;

  /**
   * fetch() with cookies, CSRF, and one shared refresh + one retry on 401. Holding the
   * cross-tab lock, the refused request is first sent again (another tab may have
   * refreshed the shared cookies); only if that is refused too does this tab refresh.
   * A step-up 401 (`insufficient_user_authentication`) is returned as is, after a
   * `reauthenticate` event: no refresh, no logout.
   *
   * Rejects with `SessionExpiredError` when the session is over (one `logout` event);
   * with the refresh's own error when it failed for want of a network (`TypeError`)
   * or a working server (`AuthError`, `status` 5xx): no logout, the next 401 tries again.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /**
   * Django's CSRF token: the page's CSRF cookie when there is exactly one in Django's
   * format, else the token the API last returned, else fetched from the session
   * endpoint (always, with `renew`). Never throws on a malformed cookie.
   */
  csrfToken(options?: { renew?: boolean }): Promise<string>;
  login(credentials: { password: string; remember?: boolean; [usernameField: string]: unknown }): Promise<SessionInfo>;
  /** Step-up: the password again for this session; rejects with LoginError. */
  reauthenticate(credentials: { password: string }): Promise<SessionInfo>;
  refresh(): Promise<SessionInfo | null>;
  session(): Promise<SessionInfo>;
  logout(): Promise<void>;
  logoutAll(): Promise<void>;
  sessions(): Promise<LoginSessionInfo[]>;
  revokeSession(sessionId: string): Promise<void>;
  close(): void;

  addEventListener<K extends keyof AuthClientEventMap>(
    type: K,
    listener: (event: AuthClientEventMap[K]) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof AuthClientEventMap>(
    type: K,
    listener: (event: AuthClientEventMap[K]) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}

export default AuthClient;
