// The API's optional bearer token. The user gives it when a request answers 401; it is kept for
// the browser tab (sessionStorage) and sent as `Authorization: Bearer <token>` from then on.
import { useSyncExternalStore } from "react";

export const TOKEN_KEY = "tickcast.token";

/** wanted: the API asked for a token and none is set; refused: it refused the one set. */
export type TokenNeed = "wanted" | "refused" | null;

export interface Auth {
  token: string | null;
  need: TokenNeed;
  generation: number; // counts the tokens saved or forgotten: what was loaded before is stale
}

function stored(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || null;
  } catch {
    return null; // storage disabled: the token is asked for again
  }
}

let auth: Auth = { token: stored(), need: null, generation: 0 };
const listeners = new Set<() => void>();

function set(next: Auth) {
  auth = next;
  listeners.forEach((listener) => listener());
}

/** The token, whether the API wants another, and how many were saved or forgotten. */
export const authState = () => auth;

/** The token requests carry now, or null. */
export const currentToken = () => auth.token;

/** The header that carries `token` (none without one). */
export const authorization = (token: string | null): Record<string, string> =>
  token ? { Authorization: `Bearer ${token}` } : {};

/** A request sent with `sent` (the token then, or null) answered 401. An answer to a request
 * sent before the token changed says nothing about the new one. */
export function unauthorized(sent: string | null) {
  if (sent !== auth.token) return;
  const need = sent ? "refused" : "wanted";
  if (auth.need !== need) set({ ...auth, need });
}

export function saveToken(token: string) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // kept for this page only
  }
  set({ token, need: null, generation: auth.generation + 1 });
}

export function forgetToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // nothing was stored
  }
  set({ token: null, need: null, generation: auth.generation + 1 });
}

function listen(listener: () => void) {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

/** The token and whether the API wants another, re-rendering when either changes. */
export const useAuth = (): Auth => useSyncExternalStore(listen, authState);
