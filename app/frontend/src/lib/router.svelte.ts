// A history router small enough to read at a glance: path patterns with `:name` segments,
// links intercepted by `navigate`. The page components themselves come from `$pages`, whose
// two implementations decide between eager and lazy loading.
import type { PageName } from '$pages';

export interface Route {
  page: PageName;
  params: Record<string, string>;
}

const PATTERNS: Array<[string, PageName]> = [
  ['/login', 'login'],
  ['/', 'projects'],
  ['/projects', 'projects'],
  ['/projects/:id', 'project'],
  ['/search', 'search'],
  ['/analytics', 'analytics'],
  ['/scrape/:sessionId', 'scrape'],
];

export function match(pathname: string): Route | null {
  const parts = pathname.replace(/\/+$/, '').split('/').filter(Boolean);
  for (const [pattern, page] of PATTERNS) {
    const want = pattern.split('/').filter(Boolean);
    if (want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = want.every((segment, i) => {
      if (segment.startsWith(':')) {
        params[segment.slice(1)] = decodeURIComponent(parts[i]);
        return true;
      }
      return segment === parts[i];
    });
    if (ok) return { page, params };
  }
  return null;
}

export const location$ = $state({ pathname: location.pathname, search: location.search });

export function navigate(to: string, replace = false): void {
  const url = new URL(to, location.origin);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  location$.pathname = url.pathname;
  location$.search = url.search;
}

addEventListener('popstate', () => {
  location$.pathname = location.pathname;
  location$.search = location.search;
});

/** Use on in-app <a> elements: ordinary clicks stay in the app, modified ones open tabs. */
export function link(node: HTMLAnchorElement): void {
  node.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(node.getAttribute('href') ?? '/');
  });
}
