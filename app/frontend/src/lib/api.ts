// The Chrono Scraper API (/api/v1), as the pages use it. The token lives in localStorage so
// that a reload (or the benchmark, which injects it) starts logged in.
export const API_PREFIX = '/api/v1';
export const TOKEN_KEY = 'chrono.token';

export interface User {
  id: number;
  email: string;
  full_name?: string | null;
}

export interface Project {
  id: number;
  name: string;
  description?: string | null;
  status: string;
  created_at: string;
  updated_at?: string | null;
  domain_count: number;
  total_pages: number;
  scraped_pages: number;
  last_scraped: string | null;
}

export interface Page {
  id: number;
  original_url: string;
  wayback_url?: string | null;
  title?: string | null;
  extracted_title?: string | null;
  language?: string | null;
  mime_type?: string | null;
  word_count?: number | null;
  capture_date?: string | null;
  scraped_at?: string | null;
}

export interface Paged<T> {
  items: T[];
  total: number;
  page: number;
  per_page: number;
}

export type ProjectStats = Record<string, unknown>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token === null) localStorage.removeItem(TOKEN_KEY);
  else localStorage.setItem(TOKEN_KEY, token);
}

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  const token = getToken();
  if (token) headers.set('Authorization', `Bearer ${token}`);
  headers.set('Accept', 'application/json');
  const response = await fetch(`${API_PREFIX}${path}`, { ...init, headers });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const body = await response.json();
      if (typeof body?.detail === 'string') detail = body.detail;
    } catch {
      // not JSON: keep the status text
    }
    throw new ApiError(response.status, detail);
  }
  return (await response.json()) as T;
}

function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

type ListBody<T> =
  | T[]
  | { items?: T[]; results?: T[]; pages?: T[]; total?: number; page?: number; per_page?: number };

/** Lists may come bare or wrapped in a page envelope; the pages only need the items. */
function toPaged<T>(body: ListBody<T>, page = 1): Paged<T> {
  if (Array.isArray(body)) return { items: body, total: body.length, page, per_page: body.length };
  const items = body.items ?? body.results ?? body.pages ?? [];
  return {
    items,
    total: Number(body.total ?? items.length),
    page: Number(body.page ?? page),
    per_page: Number(body.per_page ?? items.length),
  };
}

export async function login(email: string, password: string): Promise<void> {
  const form = new URLSearchParams({ username: email, password });
  const body = await request<{ access_token: string }>('/auth/login', {
    method: 'POST',
    body: form,
  });
  setToken(body.access_token);
}

export const me = (): Promise<User> => request('/auth/me');

export async function listProjects(): Promise<Project[]> {
  return toPaged(await request<ListBody<Project>>('/projects/')).items;
}

export const getProject = (id: number): Promise<Project> => request(`/projects/${id}`);

export const projectStats = (id: number): Promise<ProjectStats> =>
  request(`/projects/${id}/stats`);

export async function projectPages(id: number, page: number, perPage: number): Promise<Paged<Page>> {
  const body = await request<ListBody<Page>>(
    `/projects/${id}/pages${query({ page, per_page: perPage })}`,
  );
  return toPaged(body, page);
}

export async function startScrape(projectId: number): Promise<number> {
  const body = await request<{ id?: number; session_id?: number; scrape_session_id?: number }>(
    `/projects/${projectId}/scrape`,
    { method: 'POST' },
  );
  const id = body.session_id ?? body.scrape_session_id ?? body.id;
  if (id === undefined) throw new ApiError(500, 'the scrape started without a session id');
  return id;
}

export async function searchPages<T>(params: Record<string, string | number | undefined>): Promise<T> {
  return request<T>(`/search/pages${query(params)}`);
}

/** The WebSocket URL of an API channel, on the page's own origin. */
export function socketUrl(path: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${API_PREFIX}${path}${query({ token: getToken() })}`;
}
