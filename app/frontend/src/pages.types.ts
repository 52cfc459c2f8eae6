import type { Component } from 'svelte';

export type PageName = 'login' | 'projects' | 'project' | 'search' | 'analytics' | 'scrape';
export type WidgetName = 'overviewChart';

// Pages take their route parameters as props; widgets take what their host passes.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loader = () => Promise<Component<any>>;

/** What both builds provide: how pages and deferred widgets are loaded, and when. */
export interface PageModule {
  pages: Record<PageName, Loader>;
  widgets: Record<WidgetName, Loader>;
  /**
   * Runs non-urgent work for `node`: at once in the eager build; in the split build once
   * the node is on screen and the browser is idle.
   */
  whenNeeded(node: Element, task: () => void): () => void;
}
