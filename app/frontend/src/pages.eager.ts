// The report's "current": every page, widget and library is imported up front and ships in
// the one bundle, whatever page the user opens.
import type { Loader, PageModule } from './pages.types';
import Login from './pages/Login.svelte';
import Projects from './pages/Projects.svelte';
import Project from './pages/Project.svelte';
import Search from './pages/Search.svelte';
import Analytics from './pages/Analytics.svelte';
import Scrape from './pages/Scrape.svelte';
import OverviewChart from './components/OverviewChart.svelte';

export type { PageName, WidgetName } from './pages.types';

const ready =
  (component: Awaited<ReturnType<Loader>>): Loader =>
  () =>
    Promise.resolve(component);

export const pages: PageModule['pages'] = {
  login: ready(Login),
  projects: ready(Projects),
  project: ready(Project),
  search: ready(Search),
  analytics: ready(Analytics),
  scrape: ready(Scrape),
};

export const widgets: PageModule['widgets'] = { overviewChart: ready(OverviewChart) };

export const whenNeeded: PageModule['whenNeeded'] = (_node, task) => {
  task();
  return () => {};
};
