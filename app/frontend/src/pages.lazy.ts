// The report's fix: each page is its own chunk, fetched when the route is first visited,
// and the chart widget (chart.js is the heaviest library here) waits until the browser is
// idle after the first render, as the report's layout does with requestIdleCallback.
import type { PageModule } from './pages.types';

export type { PageName, WidgetName } from './pages.types';

// A browser that never goes idle still gets the widget after this long.
const IDLE_TIMEOUT_MS = 2000;

export const pages: PageModule['pages'] = {
  login: () => import('./pages/Login.svelte').then((m) => m.default),
  projects: () => import('./pages/Projects.svelte').then((m) => m.default),
  project: () => import('./pages/Project.svelte').then((m) => m.default),
  search: () => import('./pages/Search.svelte').then((m) => m.default),
  analytics: () => import('./pages/Analytics.svelte').then((m) => m.default),
  scrape: () => import('./pages/Scrape.svelte').then((m) => m.default),
};

export const widgets: PageModule['widgets'] = {
  overviewChart: () => import('./components/OverviewChart.svelte').then((m) => m.default),
};

export function whenIdle(task: () => void): void {
  if ('requestIdleCallback' in window) requestIdleCallback(task, { timeout: IDLE_TIMEOUT_MS });
  else setTimeout(task, 1);
}
