// Data a page needs first, requested together with the page's code so that the two
// travel side by side instead of one after the other (SvelteKit's `load` does the same).
import { listProjects, type Project } from './api';
import type { PageName } from '../pages.types';

let projects: Promise<Project[]> | null = null;

const PREFETCH: Partial<Record<PageName, () => void>> = {
  projects: () => {
    projects ??= listProjects();
  },
};

export function prefetchFor(page: PageName): void {
  PREFETCH[page]?.();
}

/** The prefetched list if there is one (used once), else a fresh request. */
export function takeProjects(): Promise<Project[]> {
  const pending = projects ?? listProjects();
  projects = null;
  return pending;
}
