// Who is logged in. The token is the source of truth; the user record is fetched once.
import { getToken, me, setToken, type User } from './api';

export const session = $state<{ user: User | null; token: string | null }>({
  user: null,
  token: getToken(),
});

export async function loadUser(): Promise<User | null> {
  if (!session.token) return null;
  try {
    session.user = await me();
  } catch {
    logout();
  }
  return session.user;
}

export function loggedIn(): void {
  session.token = getToken();
}

export function logout(): void {
  setToken(null);
  session.token = null;
  session.user = null;
}
