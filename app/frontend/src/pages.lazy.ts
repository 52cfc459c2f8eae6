// The report's fix: each page is its own chunk, fetched when the route is first visited,
// and the chart widget (chart.js is the heaviest library here) waits until it is on
// screen and the browser is idle, as the report's layout does with requestIdleCallback.
// Below the fold it is not fetched at all until the user scrolls to it.
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

export const whenNeeded: PageModule['whenNeeded'] = (node, task) => {
  let idle: number | undefined;
  const observer = new IntersectionObserver((entries) => {
    if (!entries.some((entry) => entry.isIntersecting)) return;
    observer.disconnect();
    idle = requestIdleCallback(task, { timeout: IDLE_TIMEOUT_MS });
  });
  observer.observe(node);
  return () => {
    observer.disconnect();
    if (idle !== undefined) cancelIdleCallback(idle);
  };
};
